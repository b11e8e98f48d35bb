/*
 * Update slots in the simulator: the host's boot stage (hardware/sim/host/boot.c)
 * keeps the boot state in the "otadata" partition; bundles arrive from the
 * world over the bridge in chunks (the simulator's stand-in for the fetch).
 */
import { onMessage, send } from "sim/bridge";
import { ToDevice, ToWorld } from "sim/bridge/messages";

import type { BootState } from "hardware/ota/boot-state";

export type { BootState } from "hardware/ota/boot-state";

function stateNative(this: unknown): BootState {
	return native("xs_ota_state").call(this);
}
function activateNative(this: unknown, partition: string, size: number, digest: ArrayBuffer | Uint8Array, securityVersion: number): void {
	return native("xs_ota_activate").call(this, partition, size, digest, securityVersion);
}
function confirmNative(this: unknown): void {
	return native("xs_ota_confirm").call(this);
}
function restartNative(this: unknown): void {
	return native("xs_ota_restart").call(this);
}

export const hardwareModel = "doorward-sim";

export function bootState(): BootState {
	return stateNative();
}

export function activate(partition: string, size: number, digest: Uint8Array, securityVersion: number): void {
	activateNative(partition, size, digest, securityVersion);
}

export function confirm(): void {
	confirmNative();
}

export function restart(): void {
	restartNative();
}

export function onBundle(handlers: { chunk(bytes: Uint8Array): void; end(): void }): void {
	onMessage(ToDevice.UpdateChunk, (payload) => handlers.chunk(new Uint8Array(payload)));
	onMessage(ToDevice.UpdateEnd, () => handlers.end());
}

export function report(outcome: Record<string, string | number | boolean>): void {
	send(ToWorld.UpdateReport, ArrayBuffer.fromString(JSON.stringify(outcome)));
}
