/*
 * Over-the-air update slots and the boot state: esp_ota_ops on the device,
 * the simulator host's boot stage (hardware/sim/host/boot.c) in the simulator.
 * The bundle itself arrives on the update channel (onBundle).
 */
declare module "hardware/ota" {
	import type { BootState } from "hardware/ota/boot-state";
	export type { BootState } from "hardware/ota/boot-state";

	/** The hardware model release manifests name. */
	export const hardwareModel: string;
	export function bootState(): BootState;
	/**
	 * Boots `partition` (bootState().inactive) next, on trial. The caller has
	 * written and verified it through the flash module's "nextota", the only
	 * name by which the device's flash opens that slot.
	 */
	export function activate(partition: string, size: number, digest: Uint8Array, securityVersion: number): void;
	/** The image on trial passed its self-test: keep it, and raise the eFuse security version to its own. */
	export function confirm(): void;
	/** Resets the device. */
	export function restart(): void;
	/** Bundle bytes as they arrive, then the end of the bundle. */
	export function onBundle(handlers: { chunk(bytes: Uint8Array): void; end(): void }): void;
	/** Reports an update outcome to whoever delivered the bundle (JSON). */
	export function report(outcome: Record<string, string | number | boolean>): void;
}
