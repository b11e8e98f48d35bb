/*
 * Signed requests from the paired phones, over MQTT (docs/protocol/requests.md):
 * a phone seals a request to the device's X25519 key and publishes it on
 * dw/<topic id>/rq; the device opens it (./format.ts), checks that its signer
 * is a paired phone with the role the kind needs, that it is fresh and new
 * (./guard.ts), and hands it to the handler registered for its kind.
 *
 * A refused request gets nothing on the wire: no answer, no error, nothing a
 * stranger on the broker could learn from. Its reason is one line in the log.
 * What a handler does is seen by the phones as its audit entry.
 *
 * Handlers are registered by the modules that own the change (removal:
 * ./removal.ts; invitations: onboarding/invitation.ts; the live view its
 * own). src/main.ts wires the service to the MQTT client.
 */
import type { DeviceKeys } from "device/keys";
import type { PairedPhone, Role } from "device/recipients";
import { ed25519Verify } from "hardware/crypto";
import { ticks } from "hardware/clock";
import { openRequest, RequestRefusal } from "./format";
import type { OpenedRequest } from "./format";
import { ReplayGuard } from "./guard";

export { RequestRefusal };
export type { OpenedRequest };

export function requestTopic(topicId: string): string {
	return `dw/${topicId}/rq`;
}

export interface RequestHandler {
	readonly kind: number;
	/** For the log: "remove", "invite", ... */
	readonly name: string;
	/** "owner": only an owner may ask; "member": any paired phone (the handler may check more). */
	readonly role: Role;
	/**
	 * A durable request is never acted on twice, even across a restart with a
	 * clock an attacker set back: its time is written to the keystore (the
	 * request floor) before the handler runs. For requests that change what
	 * the device keeps (phones, invitations); a request whose repetition is
	 * harmless (it only re-sends its phone what it asked for) need not be.
	 */
	readonly durable: boolean;
	/** Acts on the request, or throws RequestRefusal with the reason. */
	handle(request: OpenedRequest, signer: PairedPhone): void;
}

export interface RequestServiceOptions {
	readonly deviceId: string;
	readonly keys: DeviceKeys;
	recipients(): readonly PairedPhone[];
	/** The device's wall clock, ms. */
	now(): number;
	/** Whether that clock is set (device/time clockSynced): freshness cannot be judged otherwise. */
	clockSynced(): boolean;
	/** The request floor kept in the keystore (the highest time of a durable request taken), and its write. */
	storedFloor(): number;
	storeFloor(time: number): void;
	log(level: "info" | "warn", line: string): void;
}

export class RequestService {
	readonly #options: RequestServiceOptions;
	readonly #handlers = new Map<number, RequestHandler>();
	readonly #startTicks = ticks();
	#guard: ReplayGuard | undefined;

	constructor(options: RequestServiceOptions) {
		this.#options = options;
	}

	register(handler: RequestHandler): void {
		if (this.#handlers.has(handler.kind))
			throw new RangeError(`requests: kind ${handler.kind} has a handler already`);
		this.#handlers.set(handler.kind, handler);
	}

	/**
	 * The guard, made once the clock is set: its floor is the wall-clock time
	 * of power-up (every request taken before this boot is older than that,
	 * within futureMs: see the spec) or the stored floor, whichever is later.
	 */
	#replayGuard(): ReplayGuard {
		if (!this.#guard) {
			const poweredUp = this.#options.now() - (ticks() - this.#startTicks);
			this.#guard = new ReplayGuard(Math.max(Math.floor(poweredUp), this.#options.storedFloor()));
		}
		return this.#guard;
	}

	/** One message on the request topic. Returns whether a handler acted on it. */
	receive(payload: Uint8Array): boolean {
		const options = this.#options;
		let signer: PairedPhone | undefined;
		let opened: OpenedRequest | undefined;
		try {
			if (!options.clockSynced())
				throw new RequestRefusal("the device's clock is not set: freshness cannot be checked");
			opened = openRequest(payload, options.deviceId, { open: (enc, info, aad, ciphertext) => options.keys.open(enc, info, aad, ciphertext), verify: ed25519Verify });
			const request = opened;
			signer = options.recipients().find((phone) => phone.signingKey === request.signer);
			if (!signer)
				throw new RequestRefusal("its signer is not a paired phone");
			const handler = this.#handlers.get(opened.kind);
			if (!handler)
				throw new RequestRefusal(`unknown kind ${opened.kind}`);
			if ((handler.role === "owner") && (signer.role !== "owner"))
				throw new RequestRefusal(`${handler.name} needs an owner; phone ${signer.keyId} is a ${signer.role}`);
			const now = options.now();
			const guard = this.#replayGuard();
			guard.check(opened.time, opened.nonce, now);
			guard.remember(opened.time, opened.nonce, now);
			if (handler.durable && (opened.time > options.storedFloor()))
				options.storeFloor(opened.time);
			handler.handle(opened, signer);
			options.log("info", `request ${handler.name} from phone ${signer.keyId}: done`);
			return true;
		}
		catch (error) {
			const from = signer ? ` from phone ${signer.keyId}` : "";
			const kind = opened ? ` (kind ${opened.kind})` : "";
			const reason = (error instanceof RequestRefusal) ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
			options.log("warn", `request refused${kind}${from}: ${reason}`);
			return false;
		}
	}
}

Object.freeze(RequestService.prototype);
