/*
 * The boot state's type, as one module that every platform's hardware/ota
 * imports: under mcconfig the specifier "hardware/ota" names the
 * implementation itself, so it cannot take its own types from there. The
 * contract (ota.d.ts) re-exports it too.
 */
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
