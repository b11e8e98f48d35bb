/*
 * Onboarding in the browser (docs/protocol/onboarding.md): the framing, the
 * SPAKE2+ prover (tools/phone/spake2plus.ts, written for Node and the
 * browser on @noble), the session on WebCrypto's AES-256-GCM, and the
 * exchange. It runs over any Link: the simulator's WebSocket or Web
 * Bluetooth (./links.ts). Every failure is an OnboardingError whose message
 * is a sentence for the person holding the phone.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { identities, ProverExchange, proverSecrets } from "../../phone/spake2plus.js";
import { concat, encoder, own } from "./bytes.js";

const Message = { Hello: 0x01, Share: 0x02, Confirm: 0x03, Request: 0x04, Parameters: 0x81, DeviceShare: 0x82, Answer: 0x84, Network: 0x85, Close: 0xFF } as const;
const context = "doorward onboarding 1";
const maxMessage = 1024;

export class OnboardingError extends Error {
	/** "code", "window", "owner", "wifi", "link", "protocol", "input": what the page can say more about. */
	readonly kind: string;
	constructor(kind: string, message: string) {
		super(message);
		this.kind = kind;
	}
}

/** A link that carries fragments both ways (one ATT write or notification each). */
export interface Link {
	readonly mtu: number;
	write(fragment: Uint8Array): Promise<void>;
	onNotify(listener: (fragment: Uint8Array) => void): void;
	onClosed(listener: () => void): void;
	disconnect(): void;
}

export function fragments(message: Uint8Array, mtu: number): Uint8Array[] {
	const room = Math.max(mtu, 23) - 4;
	const out: Uint8Array[] = [];
	for (let at = 0; at < message.length; at += room)
		out.push(concat(Uint8Array.of((at + room >= message.length) ? 1 : 0), message.subarray(at, at + room)));
	return out;
}

/** Whole messages off a link, one at a time. */
class Inbox {
	#messages: Uint8Array[] = [];
	#parts: Uint8Array[] = [];
	#size = 0;
	#waiting: (() => void) | undefined;
	#closed = false;
	#error: string | undefined;

	constructor(link: Link) {
		link.onNotify((fragment) => {
			if ((fragment.length < 2) || (fragment[0] > 1)) {
				this.#error = "the device sent a malformed fragment";
				return this.#wake();
			}
			this.#parts.push(fragment.slice(1));
			this.#size += fragment.length - 1;
			if (this.#size > maxMessage) {
				this.#error = "the device sent an oversized message";
				return this.#wake();
			}
			if (fragment[0] === 1) {
				this.#messages.push(concat(...this.#parts));
				this.#parts = [];
				this.#size = 0;
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
		waiting?.();
	}

	async next(timeoutMs: number): Promise<Uint8Array> {
		if (!this.#messages.length && !this.#closed && !this.#error) {
			let timer: ReturnType<typeof setTimeout> | undefined;
			await new Promise<void>((resolve) => {
				this.#waiting = resolve;
				timer = setTimeout(resolve, timeoutMs);
			});
			clearTimeout(timer);
		}
		const message = this.#messages.shift();
		if (message)
			return message;
		if (this.#error)
			throw new OnboardingError("protocol", `Pairing failed: ${this.#error}.`);
		if (this.#closed)
			throw new OnboardingError("link", "The device ended the connection.");
		throw new OnboardingError("link", "No answer from the device: is it close by and powered?");
	}
}

async function sessionKey(shared: Uint8Array, direction: string, usage: KeyUsage): Promise<CryptoKey> {
	const raw = hkdf(nobleSha256, shared, new Uint8Array(0), encoder.encode(`doorward onboarding 1 ${direction}`), 32);
	const key = await crypto.subtle.importKey("raw", own(raw), "AES-GCM", false, [usage]);
	raw.fill(0);
	return key;
}

const counterBytes = (counter: number) => {
	const out = new Uint8Array(4);
	new DataView(out.buffer).setUint32(0, counter);
	return out;
};
const nonce = (counter: number) => concat(new Uint8Array(8), counterBytes(counter));

async function seal(key: CryptoKey, type: number, counter: number, plaintext: Uint8Array): Promise<Uint8Array> {
	const header = counterBytes(counter);
	const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce(counter), additionalData: concat(Uint8Array.of(type), header) }, key, own(plaintext));
	return concat(header, new Uint8Array(sealed));
}

async function open(key: CryptoKey, type: number, expected: number, body: Uint8Array): Promise<unknown> {
	if (body.length < 20)
		throw new OnboardingError("protocol", "Pairing failed: the device's sealed message is too short.");
	const counter = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
	if (counter !== expected)
		throw new OnboardingError("protocol", `Pairing failed: the device's message ${counter} is out of order.`);
	let plaintext: ArrayBuffer;
	try {
		plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce(counter), additionalData: concat(Uint8Array.of(type), body.subarray(0, 4)) }, key, own(body.subarray(4)));
	}
	catch {
		throw new OnboardingError("protocol", "Pairing failed: the device's sealed message does not authenticate.");
	}
	try {
		return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
	}
	catch {
		throw new OnboardingError("protocol", "Pairing failed: the device's answer is not JSON.");
	}
}

const verhoeffD = ["0123456789", "1234067895", "2340178956", "3401289567", "4012395678", "5987604321", "6598710432", "7659821043", "8765932104", "9876543210"];
const verhoeffP = ["0123456789", "1576283094", "5803796142", "8916043527", "9453126870", "4286573901", "2793806415", "7046913258"];

export function verhoeff(digits: string): string {
	let c = 0;
	[...digits].reverse().forEach((digit, i) => (c = Number(verhoeffD[c][Number(verhoeffP[(i + 1) % 8][Number(digit)])])));
	return "0432156789"[c];
}

export interface Label {
	code: string;
	deviceId?: string;
	fingerprint?: string;
}

/** What the owner typed or pasted: the QR payload, the 8-digit code, or the manual code with its check digit. */
export function parseLabel(text: string): Label {
	const trimmed = text.trim();
	const qr = /^doorward:2:([0-9a-f]{32}):([0-9a-f]{4}(?:-[0-9a-f]{4}){7}):(\d{8})$/.exec(trimmed);
	if (qr)
		return { deviceId: qr[1], fingerprint: qr[2], code: qr[3] };
	if (trimmed.startsWith("doorward:"))
		throw new OnboardingError("input", "That is not a Doorward label's QR payload (doorward:2:device:fingerprint:code).");
	const digits = trimmed.replace(/[\s-]/g, "");
	if (/^\d{8}$/.test(digits))
		return { code: digits };
	if (/^\d{9}$/.test(digits)) {
		if (verhoeff(digits.slice(0, 8)) !== digits[8])
			throw new OnboardingError("input", "The code's check digit is wrong: a typing error? Check the label again.");
		return { code: digits.slice(0, 8) };
	}
	throw new OnboardingError("input", "A setup code is 8 digits, or the label's manual code NNNN-NNNN-N, or its QR payload.");
}

export interface PairingRequest {
	deviceId: string;
	code: string;
	agreementKey: string;
	signingKey: string;
	name: string;
	wifi?: { ssid: string; passphrase: string };
	timeoutMs?: number;
}

export interface PairingAnswer {
	ok?: boolean;
	role?: string;
	deviceId?: string;
	topicId?: string;
	signingPublicKey?: string;
	agreementPublicKey?: string;
	fingerprint?: string;
}

/** The device's Close reason, in words the owner can act on. */
function refusal(reason: string): OnboardingError {
	if (reason.startsWith("wrong code"))
		return new OnboardingError("code", `Wrong code: the device did not accept it (${reason.replace(/^wrong code \(?/, "").replace(/\)$/, "")}). Check the label and try again.`);
	if (reason.startsWith("the commissioning window is"))
		return new OnboardingError("window", `The device's pairing window is closed (${reason.replace("the commissioning window is ", "")}).`);
	if (reason.startsWith("the device has an owner"))
		return new OnboardingError("owner", "This device already has an owner: the label's code admits nobody now; the owner must invite this phone.");
	return new OnboardingError("protocol", `The device refused: ${reason}.`);
}

/** Runs the exchange on a connected link; resolves when the device has admitted the phone and said how its Wi-Fi went. */
export async function pair(link: Link, request: PairingRequest): Promise<{ answer: PairingAnswer; wifi: string }> {
	const inbox = new Inbox(link);
	const timeoutMs = request.timeoutMs ?? 30000;
	const send = async (type: number, body: Uint8Array) => {
		for (const piece of fragments(concat(Uint8Array.of(type), body), link.mtu))
			await link.write(piece);
	};
	const receive = async (wanted: number, length?: number): Promise<Uint8Array> => {
		const message = await inbox.next(timeoutMs);
		if (message[0] === Message.Close)
			throw refusal(new TextDecoder().decode(message.subarray(1)));
		if (message[0] !== wanted)
			throw new OnboardingError("protocol", `Pairing failed: the device sent message 0x${message[0].toString(16)} out of turn.`);
		const body = message.subarray(1);
		if ((length !== undefined) && (body.length !== length))
			throw new OnboardingError("protocol", `Pairing failed: the device's message 0x${wanted.toString(16)} is ${body.length} bytes, not ${length}.`);
		return body;
	};
	try {
		await send(Message.Hello, Uint8Array.of(1));
		const parameters = await receive(Message.Parameters, 21);
		if (parameters[0] !== 1)
			throw new OnboardingError("protocol", `The device speaks onboarding version ${parameters[0]}; this app speaks 1.`);
		const iterations = new DataView(parameters.buffer, parameters.byteOffset + 1, 4).getUint32(0);
		if ((iterations < 1000) || (iterations > 1000000))
			throw new OnboardingError("protocol", `The device asks for ${iterations} PBKDF2 iterations: refused.`);
		const { w0, w1 } = proverSecrets(encoder.encode(request.code), parameters.subarray(5), iterations);
		const prover = new ProverExchange(identities(context, "", request.deviceId), w0, w1);
		await send(Message.Share, prover.start());
		const share = await receive(Message.DeviceShare, 97);
		let confirmP: Uint8Array, shared: Uint8Array;
		try {
			({ confirmP, shared } = prover.finish(share.subarray(0, 65), share.subarray(65)));
		}
		catch {
			// The device counted the attempt already; it closes the link when it does not get a confirmation.
			throw new OnboardingError("code", "Wrong code: the device does not know this code (or it is not the device on the label). Check the label and try again.");
		}
		await send(Message.Confirm, confirmP);
		const toDevice = await sessionKey(shared, "phone to device", "encrypt");
		const toPhone = await sessionKey(shared, "device to phone", "decrypt");
		shared.fill(0);
		const body = encoder.encode(JSON.stringify({
			agreementKey: request.agreementKey, signingKey: request.signingKey, name: request.name,
			...(request.wifi ? { wifi: request.wifi } : {}),
		}));
		await send(Message.Request, await seal(toDevice, Message.Request, 0, body));
		const answer = await open(toPhone, Message.Answer, 0, await receive(Message.Answer)) as PairingAnswer;
		if (answer.deviceId !== request.deviceId)
			throw new OnboardingError("protocol", "The device answered with another device id than the label's: not pairing.");
		const network = await open(toPhone, Message.Network, 1, await receive(Message.Network)) as { wifi?: unknown };
		return { answer, wifi: String(network.wifi) };
	}
	finally {
		link.disconnect();
	}
}
