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
function activateNative(this: unknown, partition: string, size: number, digest: Uint8Array, securityVersion: number): void {
	return native("xs_ota_activate").call(this, partition, size, digest, securityVersion);
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

/**
 * Boots `partition` next, on trial, once ota.c has read the slot back: its
 * first `size` bytes must hash to the manifest's `digest`, and the image's
 * own secure_version must be the manifest's `securityVersion`, at or above
 * the eFuse value. ESP-IDF then checks the image itself (and, with secure
 * boot, its signature).
 */
export function activate(partition: string, size: number, digest: Uint8Array, securityVersion: number): void {
	if (!Number.isInteger(size) || (size <= 0))
		throw new RangeError(`ota: activate: invalid image size ${size}`);
	if (!(digest instanceof Uint8Array) || (digest.length !== 32))
		throw new RangeError("ota: activate: the digest must be 32 bytes");
	if (!Number.isInteger(securityVersion) || (securityVersion < 0) || (securityVersion > 16))
		throw new RangeError(`ota: activate: security version ${securityVersion} is outside 0..16`);
	activateNative(partition, size, digest, securityVersion);
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
