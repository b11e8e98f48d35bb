/*
 * The phone's side of the onboarding exchange (docs/protocol/onboarding.md),
 * written from the specification, independently of the device's
 * (src/onboarding/): SPAKE2+ as the prover (./spake2plus.ts, on
 * @noble/curves), the session on Node's AES-256-GCM, the framing again here.
 * It runs over any link that carries fragments: the simulator's BLE link
 * (tools/sim/world.ts), lin's files (./lin.ts), a phone's GATT client.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { identities, ProverExchange, proverSecrets } from "./spake2plus.js";
import type { PairingReply } from "./identity.js";

export const Message = Object.freeze({
	Hello: 0x01, Share: 0x02, Confirm: 0x03, Request: 0x04,
	Parameters: 0x81, DeviceShare: 0x82, Answer: 0x84, Network: 0x85, Close: 0xFF,
} as const);

export const context = "doorward onboarding 1";
const maxMessage = 1024;

/** The device refused, or the exchange failed: one line for the person holding the phone. */
export class OnboardingError extends Error {}

/** What the phone needs of a link: fragments both ways. */
export interface PhoneLink {
	readonly mtu: number;
	write(fragment: Uint8Array): void;
	/** Every notification, in order, then `closed` when the device ends the connection. */
	onNotify(listener: (fragment: Uint8Array) => void): void;
	onClosed(listener: () => void): void;
	disconnect(): void;
}

export function fragments(message: Uint8Array, mtu: number): Uint8Array[] {
	const room = Math.max(mtu, 23) - 4;
	const out: Uint8Array[] = [];
	for (let at = 0; at < message.length; at += room)
		out.push(Buffer.concat([Buffer.of((at + room >= message.length) ? 1 : 0), message.subarray(at, at + room)]));
	return out;
}

/** Reads whole messages off a link, one at a time. */
class Inbox {
	#messages: Uint8Array[] = [];
	#parts: Buffer[] = [];
	#waiting: ((message: Uint8Array | undefined) => void) | undefined;
	#closed = false;
	#error: string | undefined;

	constructor(link: PhoneLink) {
		link.onNotify((fragment) => {
			if ((fragment.length < 2) || (fragment[0] > 1)) {
				this.#error = "the device sent a malformed fragment";
				return this.#wake();
			}
			this.#parts.push(Buffer.from(fragment.subarray(1)));
			if (Buffer.concat(this.#parts).length > maxMessage) {
				this.#error = "the device sent an oversized message";
				return this.#wake();
			}
			if (fragment[0] === 1) {
				this.#messages.push(Buffer.concat(this.#parts));
				this.#parts = [];
				this.#wake();
			}
		});
		link.onClosed(() => {
			this.#closed = true;
			this.#wake();
		});
	}

	#wake(): void {
		const waiting = this.#waiting;
		this.#waiting = undefined;
		waiting?.(this.#messages.shift());
	}

	next(timeoutMs: number): Promise<Uint8Array> {
		return new Promise((resolve, reject) => {
			const take = (message: Uint8Array | undefined) => {
				clearTimeout(timer);
				if (message)
					resolve(message);
				else
					reject(new OnboardingError(this.#error ?? (this.#closed ? "the device ended the connection" : "no answer from the device")));
			};
			const timer = setTimeout(() => {
				this.#waiting = undefined;
				take(undefined);
			}, timeoutMs);
			if (this.#messages.length || this.#closed || this.#error)
				take(this.#messages.shift());
			else
				this.#waiting = take;
		});
	}
}

/** The session keys both sides derive from K_shared (docs/protocol/onboarding.md, "Session"). */
export function sessionKeys(shared: Uint8Array): { phoneToDevice: Uint8Array; deviceToPhone: Uint8Array } {
	const enc = new TextEncoder();
	return {
		phoneToDevice: hkdf(sha256, shared, new Uint8Array(0), enc.encode("doorward onboarding 1 phone to device"), 32),
		deviceToPhone: hkdf(sha256, shared, new Uint8Array(0), enc.encode("doorward onboarding 1 device to phone"), 32),
	};
}

function nonce(counter: number): Buffer {
	const out = Buffer.alloc(12);
	out.writeUInt32BE(counter, 8);
	return out;
}

export function seal(key: Uint8Array, type: number, counter: number, plaintext: Uint8Array): Buffer {
	const header = Buffer.alloc(4);
	header.writeUInt32BE(counter);
	const cipher = createCipheriv("aes-256-gcm", key, nonce(counter));
	cipher.setAAD(Buffer.concat([Buffer.of(type), header]));
	return Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function open(key: Uint8Array, type: number, expected: number, body: Uint8Array): Buffer {
	if (body.length < 20)
		throw new OnboardingError("the device's sealed message is too short");
	const counter = Buffer.from(body).readUInt32BE(0);
	if (counter !== expected)
		throw new OnboardingError(`the device's message ${counter} is out of order (expected ${expected})`);
	const decipher = createDecipheriv("aes-256-gcm", key, nonce(counter));
	decipher.setAAD(Buffer.concat([Buffer.of(type), body.subarray(0, 4)]));
	decipher.setAuthTag(body.subarray(body.length - 16));
	try {
		return Buffer.concat([decipher.update(body.subarray(4, body.length - 16)), decipher.final()]);
	}
	catch {
		throw new OnboardingError("the device's sealed message does not authenticate");
	}
}

/** The setup code from what the owner typed or scanned: 8 digits, or the manual code with its Verhoeff check digit. */
export function parseCode(text: string): string {
	const digits = text.replace(/[\s-]/g, "");
	if (/^\d{8}$/.test(digits))
		return digits;
	if (/^\d{9}$/.test(digits)) {
		if (verhoeff(digits.slice(0, 8)) !== digits[8])
			throw new OnboardingError(`the code ${text} has a wrong check digit: a typing error?`);
		return digits.slice(0, 8);
	}
	throw new OnboardingError(`the code ${text} is not a setup code (8 digits, or the label's 9-digit manual code)`);
}

const verhoeffD = ["0123456789", "1234067895", "2340178956", "3401289567", "4012395678", "5987604321", "6598710432", "7659821043", "8765932104", "9876543210"];
const verhoeffP = ["0123456789", "1576283094", "5803796142", "8916043527", "9453126870", "4286573901", "2793806415", "7046913258"];

export function verhoeff(digits: string): string {
	let c = 0;
	[...digits].reverse().forEach((digit, i) => (c = Number(verhoeffD[c][Number(verhoeffP[(i + 1) % 8][Number(digit)])])));
	return "0432156789"[c];
}

export interface OnboardRequest {
	readonly deviceId: string;
	readonly code: string;
	readonly agreementKey: string;
	readonly signingKey: string;
	readonly name: string;
	readonly wifi?: { ssid: string; passphrase: string };
	readonly timeoutMs?: number;
}

export interface OnboardResult {
	readonly reply: PairingReply;
	readonly wifi: string;
}

/** Runs the exchange on a connected link; resolves when the device has admitted the phone and reported its Wi-Fi. */
export async function onboard(link: PhoneLink, request: OnboardRequest): Promise<OnboardResult> {
	const inbox = new Inbox(link);
	const timeoutMs = request.timeoutMs ?? 30000;
	const send = (type: number, body: Uint8Array) => {
		for (const piece of fragments(Buffer.concat([Buffer.of(type), body]), link.mtu))
			link.write(piece);
	};
	const receive = async (wanted: number, length?: number): Promise<Buffer> => {
		const message = Buffer.from(await inbox.next(timeoutMs));
		if (message[0] === Message.Close)
			throw new OnboardingError(`the device refused: ${message.subarray(1).toString("utf8")}`);
		if (message[0] !== wanted)
			throw new OnboardingError(`the device sent message 0x${message[0].toString(16)} out of turn`);
		const body = message.subarray(1);
		if ((length !== undefined) && (body.length !== length))
			throw new OnboardingError(`the device's message 0x${wanted.toString(16)} is ${body.length} bytes, not ${length}`);
		return body;
	};
	try {
		send(Message.Hello, Buffer.of(1));
		const parameters = await receive(Message.Parameters, 21);
		if (parameters[0] !== 1)
			throw new OnboardingError(`the device speaks onboarding version ${parameters[0]}`);
		const iterations = parameters.readUInt32BE(1);
		if ((iterations < 1000) || (iterations > 1000000))
			throw new OnboardingError(`the device asks for ${iterations} PBKDF2 iterations: refused`);
		const { w0, w1 } = proverSecrets(new TextEncoder().encode(request.code), parameters.subarray(5), iterations);
		const prover = new ProverExchange(identities(context, "", request.deviceId), w0, w1);
		send(Message.Share, prover.start());
		const share = await receive(Message.DeviceShare, 97);
		let confirmP: Uint8Array, shared: Uint8Array;
		try {
			({ confirmP, shared } = prover.finish(share.subarray(0, 65), share.subarray(65)));
		}
		catch {
			throw new OnboardingError("wrong code: the device does not know this code (or it is not the device on the label)");
		}
		send(Message.Confirm, confirmP);
		const keys = sessionKeys(shared);
		const body = new TextEncoder().encode(JSON.stringify({
			agreementKey: request.agreementKey, signingKey: request.signingKey, name: request.name,
			...(request.wifi ? { wifi: request.wifi } : {}),
		}));
		send(Message.Request, seal(keys.phoneToDevice, Message.Request, 0, body));
		const answer = JSON.parse(open(keys.deviceToPhone, Message.Answer, 0, await receive(Message.Answer)).toString("utf8")) as PairingReply;
		if (answer.deviceId !== request.deviceId)
			throw new OnboardingError(`the device answered as ${String(answer.deviceId)}, not the label's ${request.deviceId}`);
		const network = JSON.parse(open(keys.deviceToPhone, Message.Network, 1, await receive(Message.Network)).toString("utf8")) as { wifi?: unknown };
		return { reply: answer, wifi: String(network.wifi) };
	}
	finally {
		link.disconnect();
	}
}
