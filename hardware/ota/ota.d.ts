/*
 * Over-the-air update slots and the boot state: esp_ota_ops on the device,
 * the simulator host's boot stage (hardware/sim/host/boot.c) in the simulator.
 * The bundle itself arrives on the update channel (onBundle).
 */
declare module "hardware/ota" {
	export interface BootState {
		/** The partition running now: "ota_0", "ota_1", or "factory". */
		readonly running: string;
		/** The partition an update is written to ("ota_0" or "ota_1"). */
		readonly inactive: string;
		/** Booted for the first time after an update, not yet confirmed: the self-test must pass. */
		readonly trial: boolean;
		/** This boot rolled back from an image that never confirmed itself. */
		readonly rolledBack: boolean;
		/** The security version burnt into the eFuses (0..16). */
		readonly securityVersion: number;
	}
	/** The hardware model release manifests name. */
	export const hardwareModel: string;
	export function bootState(): BootState;
	/** Boots `partition` next, on trial. The caller has written and verified it. */
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
