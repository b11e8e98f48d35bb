/*
 * The onboarding exchange, the device's side (docs/protocol/onboarding.md):
 * on one connection of the local link, a phone that knows the label's code
 * proves it with SPAKE2+, and inside the session that follows sends its keys,
 * its name and the owner's Wi-Fi; the device answers with its identity and
 * then with how joining the network went.
 *
 *   phone                                  device
 *   0x01 Hello    version                ->
 *                                         <- 0x81 Parameters  version, iterations, salt
 *   0x02 Share    shareP                 ->   (the attempt is counted on flash first)
 *                                         <- 0x82 Share       shareV, confirmV
 *   0x03 Confirm  confirmP               ->   (wrong: "wrong code", the session ends)
 *   0x04 Request  sealed JSON            ->   (admitted: the phone is the owner)
 *                                         <- 0x84 Answer      sealed JSON: the device's identity
 *                                         <- 0x85 Network     sealed JSON: {"wifi": outcome}
 *                                         <- 0xFF Close       UTF-8 reason ("done" when all went well)
 *
 * Anything else (a message out of turn, of the wrong length, a sealed message
 * replayed, reordered or forged, a request that does not parse) ends the
 * session with 0xFF and its reason, and changes nothing but the attempt count.
 */
import { fingerprint as deviceFingerprint } from "device/keys";
import type { DeviceKeys } from "device/keys";
import type { Identity } from "device/identity";
import { loadRecipients, owned, validPhoneName } from "device/recipients";
import type { PairedPhone } from "device/recipients";
import { VerifierExchange } from "onboarding/spake2plus";
import type { StoredVerifier } from "onboarding/setup-code";
import { CommissioningWindow, maxFailures } from "onboarding/window";
import { currentInvitation, endInvitation, invitationFailed } from "onboarding/invitation";
import type { Invitation } from "onboarding/invitation";
import { DeviceSession } from "onboarding/session";
import { fragment, Reassembler } from "onboarding/frames";
import { fromHex, toHex, utf8Decode, utf8Encode } from "util/bytes";

export const version = 1;
export const context = "doorward onboarding 1";

export const Message = Object.freeze({
	Hello: 0x01,
	Share: 0x02,
	Confirm: 0x03,
	Request: 0x04,
	Parameters: 0x81,
	DeviceShare: 0x82,
	Answer: 0x84,
	Network: 0x85,
	Close: 0xFF,
} as const);

export type JoinOutcome = "joined" | "wrong passphrase" | "network not found";

/** What the exchange needs from the device; src/main.ts wires it. */
export interface OnboardingDevice {
	readonly identity: Identity;
	readonly keys: DeviceKeys;
	readonly window: CommissioningWindow;
	verifier(): StoredVerifier | undefined;
	now(): number;
	/** Whether the wall clock is set (device/time clockSynced): an invitation's expiry needs it. */
	clockSet(): boolean;
	/**
	 * Admits the phone, as the owner with the label's code or as a member with
	 * an invitation, and returns the new phone list: its audit entry first,
	 * then one keystore write (audit/phones' admitPhone).
	 */
	admit(agreementKey: Uint8Array, name: string, time: number, signingKey: Uint8Array, invitation?: Invitation): PairedPhone[];
	/** A wrong code: `count` failed attempts are on flash now. */
	failed?(count: number): void;
	/** The new phone list, after an admission. */
	onAdmitted(phones: PairedPhone[], admitted: PairedPhone): void;
	/** Keeps the owner's Wi-Fi (keystore) and joins it. */
	joinNetwork(ssid: string, passphrase: string): Promise<JoinOutcome>;
	log(line: string): void;
}

/** The link under one connection: what the platform's local channel gives (hardware/provisioning). */
export interface LinkEnd {
	readonly mtu: number;
	notify(fragmentBytes: Uint8Array): void;
	disconnect(): void;
}

class Refusal extends Error {}

const ssidBytes = 32;

function checkRequest(json: unknown): { agreementKey: Uint8Array; signingKey: Uint8Array; name: string; wifi?: { ssid: string; passphrase: string } } {
	if (!json || (typeof json !== "object") || Array.isArray(json))
		throw new Refusal("the request is not a JSON object");
	const request = json as Record<string, unknown>;
	const hex32 = (value: unknown) => (typeof value === "string") && /^[0-9a-f]{64}$/.test(value);
	if (!hex32(request.agreementKey))
		throw new Refusal("agreementKey must be a 32-byte X25519 public key in hex");
	if (!hex32(request.signingKey))
		throw new Refusal("signingKey must be a 32-byte Ed25519 public key in hex");
	if (!validPhoneName(request.name))
		throw new Refusal("name must be 1 to 64 printable characters");
	let wifi: { ssid: string; passphrase: string } | undefined;
	if (request.wifi !== undefined) {
		const given = request.wifi as Record<string, unknown>;
		if (!given || (typeof given !== "object") || (typeof given.ssid !== "string") || (typeof given.passphrase !== "string"))
			throw new Refusal("wifi must be {\"ssid\", \"passphrase\"}");
		const ssidLength = utf8Encode(given.ssid).length;
		if ((ssidLength < 1) || (ssidLength > ssidBytes))
			throw new Refusal(`the SSID must be 1 to ${ssidBytes} bytes`);
		if ((given.passphrase.length < 8) || (given.passphrase.length > 63) || [...given.passphrase].some((c) => (c.charCodeAt(0) < 0x20) || (c.charCodeAt(0) > 0x7E)))
			throw new Refusal("the passphrase must be 8 to 63 printable ASCII characters (WPA2)");
		wifi = { ssid: given.ssid, passphrase: given.passphrase };
	}
	const keys = Object.keys(request).filter((key) => !["agreementKey", "signingKey", "name", "wifi"].includes(key));
	if (keys.length)
		throw new Refusal(`unknown field ${keys[0].slice(0, 32)}`);
	return { agreementKey: fromHex(request.agreementKey as string), signingKey: fromHex(request.signingKey as string), name: request.name as string, ...(wifi ? { wifi } : {}) };
}

/**
 * One connection's exchange. Feed it the link's writes (fragments); it
 * answers with notifications and ends the connection when the exchange is
 * over, either way.
 */
export class OnboardingExchange {
	readonly #device: OnboardingDevice;
	readonly #link: LinkEnd;
	readonly #frames = new Reassembler();
	#state: "hello" | "share" | "confirm" | "request" | "admitted" | "closed" = "hello";
	#spake: VerifierExchange | undefined;
	#session: DeviceSession | undefined;
	/** The invitation this exchange runs with, on an owned device; none with the label's code. */
	#invitation: Invitation | undefined;

	constructor(device: OnboardingDevice, link: LinkEnd) {
		this.#device = device;
		this.#link = link;
	}

	get closed(): boolean {
		return this.#state === "closed";
	}

	/** One write on the link's write characteristic. */
	write(fragmentBytes: Uint8Array): void {
		if (this.#state === "closed")
			return;
		let message: Uint8Array | undefined;
		try {
			message = this.#frames.take(fragmentBytes);
			if (message)
				this.#receive(message[0], message.subarray(1));
		}
		catch (error) {
			this.close((error as Error).message);
		}
	}

	/** The phone went away: whatever was half done stays undone. */
	disconnected(): void {
		this.#end();
	}

	#send(type: number, body: Uint8Array): void {
		const message = new Uint8Array(1 + body.length);
		message[0] = type;
		message.set(body, 1);
		for (const piece of fragment(message, this.#link.mtu))
			this.#link.notify(piece);
	}

	#sendSealed(type: number, json: Record<string, unknown>): void {
		this.#send(type, this.#session!.seal(type, utf8Encode(JSON.stringify(json))));
	}

	/** Ends the session with a reason the phone shows. */
	close(reason: string): void {
		if (this.#state === "closed")
			return;
		if (reason !== "done")
			this.#device.log(`onboarding: session closed: ${reason}`);
		try {
			this.#send(Message.Close, utf8Encode(reason.slice(0, 200)));
		}
		catch {
			// the link is gone: nothing to tell
		}
		this.#end();
		this.#link.disconnect();
	}

	#end(): void {
		this.#state = "closed";
		this.#session?.close();
		this.#session = undefined;
		this.#spake = undefined;
	}

	/** The label's window, or the invitation, still admits: checked again at each step, as either can close meanwhile. */
	#stillOpen(): void {
		const device = this.#device;
		if (!this.#invitation) {
			if (owned())
				throw new Refusal("the device has an owner: the label's code admits nobody, an owner must invite");
			const window = device.window.state();
			if (!window.open)
				throw new Refusal(`the commissioning window is ${window.reason}`);
			return;
		}
		const invitation = currentInvitation(device.now(), device.clockSet());
		if ("refused" in invitation)
			throw new Refusal(invitation.refused);
	}

	#expect(type: number, wanted: number, body: Uint8Array, length: number): void {
		if (type !== wanted)
			throw new Refusal(`message 0x${type.toString(16).padStart(2, "0")} out of turn (expected 0x${wanted.toString(16).padStart(2, "0")})`);
		if ((length >= 0) && (body.length !== length))
			throw new Refusal(`message 0x${type.toString(16).padStart(2, "0")} is ${body.length} bytes, not ${length}`);
	}

	#receive(type: number, body: Uint8Array): void {
		const device = this.#device;
		switch (this.#state) {
		case "hello": {
			this.#expect(type, Message.Hello, body, 1);
			if (body[0] !== version)
				throw new Refusal(`protocol version ${body[0]} is not supported (this device speaks ${version})`);
			let verifier: StoredVerifier | undefined;
			if (owned()) {
				// An owned device takes only an owner's invitation, with its own one-time code.
				const invitation = currentInvitation(device.now(), device.clockSet());
				if ("refused" in invitation)
					throw new Refusal(invitation.refused);
				if (device.window.failures >= maxFailures)
					throw new Refusal(`the invitation was tried ${maxFailures} times with a wrong code: an owner must invite again`);
				this.#invitation = invitation;
				verifier = invitation.verifier;
			}
			else {
				const window = device.window.state();
				if (!window.open)
					throw new Refusal(`the commissioning window is ${window.reason}`);
				verifier = device.verifier();
				if (!verifier)
					throw new Refusal("the device has no setup code yet (the factory draws it with the label)");
			}
			this.#spake = new VerifierExchange({ context: utf8Encode(context), idProver: new Uint8Array(0), idVerifier: utf8Encode(device.identity.deviceId) }, verifier);
			const parameters = new Uint8Array(1 + 4 + verifier.salt.length);
			parameters[0] = version;
			new DataView(parameters.buffer).setUint32(1, verifier.iterations);
			parameters.set(verifier.salt, 5);
			this.#state = "share";
			this.#send(Message.Parameters, parameters);
			return;
		}
		case "share": {
			this.#expect(type, Message.Share, body, 65);
			this.#stillOpen();
			// Counted before anything is checked: cutting the power now cannot save an attempt.
			device.window.attempt();
			const { shareV, confirmV } = this.#spake!.respond(body);
			const reply = new Uint8Array(65 + 32);
			reply.set(shareV);
			reply.set(confirmV, 65);
			this.#state = "confirm";
			this.#send(Message.DeviceShare, reply);
			return;
		}
		case "confirm": {
			this.#expect(type, Message.Confirm, body, 32);
			let shared: Uint8Array;
			try {
				shared = this.#spake!.finish(body);
			}
			catch {
				const failures = device.window.failures;
				if (this.#invitation) {
					if (invitationFailed(failures))
						device.log(`onboarding: the invitation from phone ${this.#invitation.by} is cancelled after ${failures} wrong codes`);
				}
				else
					device.failed?.(failures);
				throw new Refusal(`wrong code (${failures} failed attempts of ${maxFailures})`);
			}
			this.#spake = undefined;
			this.#session = new DeviceSession(shared);
			shared.fill(0);
			this.#state = "request";
			return;
		}
		case "request": {
			this.#expect(type, Message.Request, body, -1);
			const request = checkRequest(JSON.parse(utf8Decode(this.#session!.open(type, body))));
			const invitation = this.#invitation;
			this.#stillOpen();
			if (invitation && loadRecipients().some((phone) => toHex(phone.publicKey) === toHex(request.agreementKey)))
				throw new Refusal("this phone is paired already");
			// An invitation is used up first: a power cut after this leaves it used and the phone not
			// admitted (the owner invites again), never a code that admits twice.
			if (invitation)
				endInvitation();
			// The audit entry, then one keystore write: a power cut leaves the phone admitted or not, and
			// an entry without its write is finished at the next boot (audit/phones' recoverPhones).
			const phones = device.admit(request.agreementKey, request.name, device.now(), request.signingKey, invitation);
			const admitted = phones.find((phone) => toHex(phone.publicKey) === toHex(request.agreementKey));
			const role = invitation ? "member" : "owner";
			if (!admitted || (admitted.role !== role))
				throw new Refusal("the admission was not stored");
			if (!invitation)
				device.window.succeeded();
			device.onAdmitted(phones, admitted);
			device.log(`onboarding: phone ${admitted.keyId} admitted as ${invitation ? `a member, invited by phone ${invitation.by}` : "the owner"} (${phones.length} paired)`);
			const { identity, keys } = device;
			this.#state = "admitted";
			this.#sendSealed(Message.Answer, {
				ok: true,
				role: admitted.role,
				deviceId: identity.deviceId,
				topicId: identity.topicId,
				signingPublicKey: toHex(keys.signingPublicKey),
				agreementPublicKey: toHex(keys.agreementPublicKey),
				fingerprint: deviceFingerprint(keys.signingPublicKey, keys.agreementPublicKey),
			});
			if (!request.wifi) {
				this.#sendSealed(Message.Network, { wifi: "not sent" });
				this.close("done");
				return;
			}
			const { ssid, passphrase } = request.wifi;
			device.joinNetwork(ssid, passphrase).then((outcome) => {
				if (this.#state !== "admitted")
					return;
				device.log(`onboarding: Wi-Fi ${JSON.stringify(ssid)}: ${outcome}`);
				this.#sendSealed(Message.Network, { wifi: outcome });
				this.close("done");
			}, (error: Error) => this.close(`Wi-Fi: ${error.message}`));
			return;
		}
		default:
			throw new Refusal(`message 0x${type.toString(16).padStart(2, "0")} after the exchange`);
		}
	}
}

/** A device that admits nobody (in fault): each connection gets the reason and ends. */
export function refuseLink(link: LinkEnd, reason: string): void {
	for (const piece of fragment(concatClose(reason), link.mtu))
		link.notify(piece);
	link.disconnect();
}

function concatClose(reason: string): Uint8Array {
	const text = utf8Encode(reason.slice(0, 200));
	const message = new Uint8Array(1 + text.length);
	message[0] = Message.Close;
	message.set(text, 1);
	return message;
}
