/*
 * Why an update was refused. Every refusal in src/update is an UpdateError
 * whose `reason` is one of the stable codes below (docs/protocol/update.md
 * lists them); callers and tests match on the code, people read the message.
 */

export type RefusalReason =
	/** Structure: wrong magic, unknown format version, a field outside its range, bytes left over. */
	| "malformed"
	/** A count or length over its limit, or data beyond what the manifest declares (endless data). */
	| "too-long"
	/** Fewer bytes than declared. */
	| "truncated"
	/** A signature that does not verify under the key it names. */
	| "bad-signature"
	/** A signature by a key that the trusted root does not list for this purpose. */
	| "unknown-key"
	/** The same key signed twice: it counts once, and a signer that repeats itself is refused. */
	| "duplicate-signer"
	/** Fewer valid signatures than the root's threshold. */
	| "threshold"
	/** A development key where production is required: in a signature or in a production root. */
	| "development-key"
	/** A channel or key role other than the device's: a development manifest on a production device, a root that changes channel. */
	| "wrong-channel"
	/** A root rotation whose version is not the current root's plus one. */
	| "root-version"
	/** The manifest is for another hardware model. */
	| "wrong-model"
	/** The manifest names target devices, and this device is not one of them. */
	| "not-for-this-device"
	/** The manifest's expiry is at or before the device's time. */
	| "expired"
	/** The security version is below the one burnt into the device's eFuses. */
	| "rollback"
	/** The firmware version is not above the running one: an old or repeated manifest. */
	| "replay"
	/** The image's SHA-256 is not the manifest's. */
	| "digest-mismatch"
	/** The device has no trusted update root: it was provisioned without one, so it can take no update. */
	| "no-root"
	/** The device's wall clock is below its time floor (src/device/time.ts): it has not been set since power-up. */
	| "clock-not-set";

export class UpdateError extends Error {
	// A field, defined on each instance: on a preloaded XS image Error.prototype is frozen,
	// so assigning `this.name` would throw "set name: not writable" (the override mistake).
	override readonly name = "UpdateError";
	readonly reason: RefusalReason;

	constructor(reason: RefusalReason, message: string) {
		super(`update refused (${reason}): ${message}`);
		this.reason = reason;
	}
}

export function refuse(reason: RefusalReason, message: string): never {
	throw new UpdateError(reason, message);
}
