/*
 * A phone's signed request, as the device reads it (docs/protocol/requests.md,
 * byte-exact):
 *
 *   sealed    = "DWQ1" | enc (32) | HPKE ciphertext of the padded plaintext (P + 16)
 *   plaintext = body | signature (64) | zeros, P bytes in all (P = 512 or 2048)
 *   body      = "DWQ1" | u8 kind | u8 0 | u64 time (ms) | nonce (16) | device id (16)
 *               | signer (32: the phone's Ed25519 key) | u16 L | payload (L)
 *   signature = Ed25519(phone, "doorward/request/v1" 0 | body)
 *   HPKE      = base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM,
 *               info "doorward/request/v1" 0 | device id, aad "DWQ1"
 *
 * Pure: the HPKE opening and the Ed25519 check are passed in, so the same code
 * runs on XS (./service.ts wires hardware/crypto) and in Node's tests. The
 * phone never imports this: tools/phone/requests.ts is written from the
 * specification.
 */
import { concat, equal, fromHex, toHex, utf8Encode } from "util/bytes";

export const magic = Uint8Array.of(0x44, 0x57, 0x51, 0x31); // "DWQ1"
export const label = "doorward/request/v1";
export const encSize = 32;
export const tagSize = 16;
export const signatureSize = 64;
export const bodyHeaderSize = 80;
/** The padded plaintext sizes: a phone uses the smaller one its request fits. */
export const buckets = Object.freeze([512, 2048] as const);
/** A sealed request is one of these sizes and no other. */
export const sealedSizes = Object.freeze(buckets.map((size) => magic.length + encSize + size + tagSize));
export const maxPayload = buckets[buckets.length - 1] - bodyHeaderSize - signatureSize;

/** The request kinds; never renumbered. 0x10 and up are the live view's (its own module registers them). */
export const RequestKinds = Object.freeze({
	remove: 1,
	invite: 2,
} as const);

/** A request that is refused: the reason goes to the log in one line, nothing to the wire. */
export class RequestRefusal extends Error {
	override readonly name = "RequestRefusal";
}

export interface OpenedRequest {
	readonly kind: number;
	readonly time: number;
	readonly nonce: string;
	readonly deviceId: string;
	/** The signer's Ed25519 public key (hex): who, among the paired phones, asks. */
	readonly signer: string;
	readonly payload: Uint8Array;
}

export interface RequestCrypto {
	/** HPKE base-mode single-shot open with the device's X25519 key; throws if it does not authenticate. */
	open(enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
	verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

export function hpkeInfo(deviceId: string): Uint8Array {
	return concat([utf8Encode(label), Uint8Array.of(0), fromHex(deviceId)]);
}

export function signedMessage(body: Uint8Array): Uint8Array {
	return concat([utf8Encode(label), Uint8Array.of(0), body]);
}

/**
 * Opens a sealed request addressed to `deviceId` and checks its form and its
 * signature under the key it names. Whether that key is a paired phone's,
 * whether the time is fresh and the nonce new, is the caller's (./service.ts).
 */
export function openRequest(sealed: Uint8Array, deviceId: string, crypto: RequestCrypto): OpenedRequest {
	if (!sealedSizes.includes(sealed.length))
		throw new RequestRefusal(`a request of ${sealed.length} bytes (a sealed request is ${sealedSizes.join(" or ")})`);
	if (!equal(sealed.subarray(0, 4), magic))
		throw new RequestRefusal("not a request (magic)");
	let plaintext: Uint8Array;
	try {
		plaintext = crypto.open(sealed.subarray(4, 4 + encSize), hpkeInfo(deviceId), magic, sealed.subarray(4 + encSize));
	}
	catch {
		throw new RequestRefusal("the request does not open with this device's key");
	}
	const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
	const length = view.getUint16(78);
	const end = bodyHeaderSize + length;
	if (!equal(plaintext.subarray(0, 4), magic) || (plaintext[5] !== 0))
		throw new RequestRefusal("the request's body is malformed");
	if (end + signatureSize > plaintext.length)
		throw new RequestRefusal(`the request's payload of ${length} bytes does not fit`);
	for (let at = end + signatureSize; at < plaintext.length; at++) {
		if (plaintext[at] !== 0)
			throw new RequestRefusal("the request's padding is not zeros");
	}
	const smallest = buckets.find((size) => end + signatureSize <= size);
	if (smallest !== plaintext.length)
		throw new RequestRefusal(`the request is padded to ${plaintext.length} bytes, not ${smallest}`);
	const body = plaintext.subarray(0, end);
	const signer = plaintext.slice(46, 78);
	if (!crypto.verify(signer, signedMessage(body), plaintext.subarray(end, end + signatureSize)))
		throw new RequestRefusal("the request's signature does not verify");
	const addressed = toHex(plaintext.subarray(30, 46));
	if (addressed !== deviceId)
		throw new RequestRefusal(`the request is for device ${addressed}`);
	const time = view.getUint32(6) * 0x100000000 + view.getUint32(10);
	return Object.freeze({
		kind: plaintext[4],
		time,
		nonce: toHex(plaintext.subarray(14, 30)),
		deviceId: addressed,
		signer: toHex(signer),
		payload: plaintext.slice(bodyHeaderSize, end),
	});
}
