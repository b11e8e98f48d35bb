/*
 * The onboarding session: AES-256-GCM under keys both sides derive from
 * SPAKE2+'s K_shared (docs/protocol/onboarding.md, "Session"):
 *
 *   PRK = HKDF-Extract(salt = "", K_shared)
 *   key(phone -> device) = HKDF-Expand(PRK, "doorward onboarding 1 phone to device", 32)
 *   key(device -> phone) = HKDF-Expand(PRK, "doorward onboarding 1 device to phone", 32)
 *
 * A sealed message is u32 counter (big-endian) || ciphertext || 16-byte tag,
 * under nonce = 8 zero bytes || counter and AAD = the message type || counter.
 * Each direction counts from 0 and takes exactly the next counter: an older
 * one is a replay, a later one a reordering or a loss, and both end the
 * session. One key per direction, so a message cannot be reflected back.
 */
import { gcmOpen, gcmSeal, wipe } from "hardware/crypto";
import { expand, extract } from "crypto/hkdf";
import { concat, utf8Encode } from "util/bytes";

export const phoneToDevice = "doorward onboarding 1 phone to device";
export const deviceToPhone = "doorward onboarding 1 device to phone";
const tagBytes = 16;

export class SessionError extends Error {
	override readonly name = "SessionError";
}

function counterBytes(counter: number): Uint8Array {
	const out = new Uint8Array(4);
	new DataView(out.buffer).setUint32(0, counter);
	return out;
}

function nonce(counter: number): Uint8Array {
	const out = new Uint8Array(12);
	new DataView(out.buffer).setUint32(8, counter);
	return out;
}

/** The device's end: it opens what the phone sends and seals what it answers. */
export class DeviceSession {
	#receive: Uint8Array;
	#send: Uint8Array;
	#received = 0;
	#sent = 0;

	constructor(shared: Uint8Array) {
		const prk = extract("SHA-256", new Uint8Array(0), shared);
		this.#receive = expand("SHA-256", prk, utf8Encode(phoneToDevice), 32);
		this.#send = expand("SHA-256", prk, utf8Encode(deviceToPhone), 32);
		wipe(prk);
	}

	seal(type: number, plaintext: Uint8Array): Uint8Array {
		const counter = this.#sent++;
		const header = counterBytes(counter);
		return concat([header, gcmSeal(this.#send, nonce(counter), plaintext, concat([Uint8Array.of(type), header]))]);
	}

	open(type: number, body: Uint8Array): Uint8Array {
		if (body.length < 4 + tagBytes)
			throw new SessionError("session: a sealed message is shorter than its counter and tag");
		const counter = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
		if (counter < this.#received)
			throw new SessionError(`session: message ${counter} replayed (expected ${this.#received})`);
		if (counter > this.#received)
			throw new SessionError(`session: message ${counter} out of order (expected ${this.#received})`);
		let plaintext: Uint8Array;
		try {
			plaintext = gcmOpen(this.#receive, nonce(counter), body.subarray(4), concat([Uint8Array.of(type), body.subarray(0, 4)]));
		}
		catch {
			throw new SessionError(`session: message ${counter} does not authenticate`);
		}
		this.#received++;
		return plaintext;
	}

	close(): void {
		wipe(this.#receive);
		wipe(this.#send);
	}
}
