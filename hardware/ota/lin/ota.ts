/*
 * Moddable's lin simulator has no update slots: it always runs the build
 * mcsim loaded. Updates are exercised in the Doorward simulator host, which
 * has them (hardware/ota/sim).
 */
import type { BootState } from "hardware/ota/boot-state";

export type { BootState } from "hardware/ota/boot-state";

export const hardwareModel = "doorward-lin";

export function bootState(): BootState {
	return Object.freeze({ running: "factory", inactive: "none", trial: false, rolledBack: false, securityVersion: 0 });
}

export function activate(_partition: string, _size: number, _digest: Uint8Array, _securityVersion: number): void {
	throw new Error("ota: Moddable's lin simulator has no update slots");
}

export function confirm(): void {
}

export function restart(): void {
	throw new Error("ota: Moddable's lin simulator cannot restart itself");
}

export function onBundle(_handlers: { chunk(bytes: Uint8Array): void; end(): void }): void {
}

export function report(outcome: Record<string, string | number | boolean>): void {
	trace(`doorward info update ${JSON.stringify(outcome)}\n`);
}
