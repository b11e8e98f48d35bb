/*
 * Update slots on the device (ota.c over ESP-IDF's OTA API). The image is
 * written to the inactive slot through Moddable's `flash` module by
 * src/update/installer.ts, then activated here; the bootloader runs it on
 * trial and rolls it back unless confirm() is called.
 *
 * Bundles reach the device over MQTT (src/update/delivery.ts, in src/ for
 * every platform); the device has no second channel, so onBundle() has
 * nothing to register. report() goes to the log: the owner gets each
 * outcome as a sealed event.
 */
import config from "mc/config";

import type { BootState } from "hardware/ota/boot-state";

export type { BootState } from "hardware/ota/boot-state";

function stateNative(this: unknown): BootState {
	return native("xs_ota_state").call(this);
}
function activateNative(this: unknown, partition: string): void {
	return native("xs_ota_activate").call(this, partition);
}
function confirmNative(this: unknown): void {
	return native("xs_ota_confirm").call(this);
}
function restartNative(this: unknown): void {
	return native("xs_ota_restart").call(this);
}

export const hardwareModel: string = config.hardwareModel ?? "doorward-xiao-esp32s3-sense";

export function bootState(): BootState {
	return stateNative();
}

/** The digest and security version were checked against the signed manifest; the bootloader checks the image's own. */
export function activate(partition: string, _size: number, _digest: Uint8Array, _securityVersion: number): void {
	activateNative(partition);
}

export function confirm(): void {
	confirmNative();
}

export function restart(): void {
	restartNative();
}

export function onBundle(_handlers: { chunk(bytes: Uint8Array): void; end(): void }): void {
}

export function report(outcome: Record<string, string | number | boolean>): void {
	trace(`doorward info update ${JSON.stringify(outcome)}\n`);
}
