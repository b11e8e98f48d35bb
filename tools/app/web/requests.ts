/*
 * The app's signed requests (docs/protocol/requests.md), in the browser,
 * written from the specification as tools/phone/requests.ts is for Node
 * (that one is built on Buffer and node:crypto, so it is not shared): the
 * body signed with the phone's non-extractable Ed25519 key (WebCrypto:
 * RFC 8032 signatures are deterministic, so the key never has to leave
 * WebCrypto), padded to its bucket, sealed with HPKE (@hpke/core's native
 * X25519 KEM) to the device's X25519 agreement key. The device answers
 * nothing: what it did shows as its audit entry.
 *
 * Also the owner's invitation (onboarding.md § Invitations): a one-time code
 * drawn here and only its SPAKE2+ verifier sent (tools/phone/spake2plus.ts,
 * written for Node and the browser).
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { proverSecrets, verifierPoint } from "../../phone/spake2plus.js";
import { concat, encoder, fromHex, isHex, own } from "./bytes.js";
import type { KeyPair } from "./bytes.js";

export const MAGIC = encoder.encode("DWQ1");
export const LABEL = "doorward/request/v1";
export const BUCKETS = [512, 2048] as const;
const HEADER = 80;
const SIGNATURE = 64;

/** The kinds the app sends (requests.md § Kinds; live.md § Requests). */
export const Kind = Object.freeze({ Remove: 1, Invite: 2, Role: 3, LiveStart: 16, LiveStop: 17 } as const);

export class RequestError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "RequestError";
	}
}

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

export interface RequestFields {
	kind: number;
	payload: Uint8Array;
	/** The device's id and X25519 agreement key (hex, from pairing). */
	deviceId: string;
	agreementPublicKey: string;
	/** The phone's Ed25519 key pair: the private half is used through WebCrypto only. */
	signing: KeyPair;
	signingPublicKey: string;
	time?: number;
	nonce?: Uint8Array;
}

export interface BuiltRequest {
	body: Uint8Array;
	sealed: Uint8Array;
	time: number;
	nonce: Uint8Array;
}

/** The signed body, padded, signed and sealed: `"DWQ1" || enc (32) || ct`. */
export async function buildRequest(fields: RequestFields): Promise<BuiltRequest> {
	if (!Number.isInteger(fields.kind) || (fields.kind < 1) || (fields.kind > 255))
		throw new RequestError(`request kind ${fields.kind}: 1 to 255`);
	if (!isHex(fields.deviceId, 16) || !isHex(fields.agreementPublicKey, 32) || !isHex(fields.signingPublicKey, 32))
		throw new RequestError("a request needs the device's id and X25519 key and this phone's Ed25519 key");
	const nonce = fields.nonce ?? crypto.getRandomValues(new Uint8Array(16));
	if (nonce.length !== 16)
		throw new RequestError("a request's nonce is 16 bytes");
	const time = fields.time ?? Date.now();
	const header = new Uint8Array(HEADER);
	const view = new DataView(header.buffer);
	header.set(MAGIC, 0);
	header[4] = fields.kind;
	header[5] = 0;
	view.setBigUint64(6, BigInt(time));
	header.set(nonce, 14);
	header.set(fromHex(fields.deviceId), 30);
	header.set(fromHex(fields.signingPublicKey), 46);
	view.setUint16(78, fields.payload.length);
	const body = concat(header, fields.payload);
	const size = BUCKETS.find((bucket) => body.length + SIGNATURE <= bucket);
	if (!size)
		throw new RequestError(`a request payload of ${fields.payload.length} bytes is too large`);
	const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, fields.signing.privateKey, concat(encoder.encode(LABEL), Uint8Array.of(0), body)));
	const plaintext = new Uint8Array(size);
	plaintext.set(body, 0);
	plaintext.set(signature, body.length);
	const recipientPublicKey = await suite.kem.importKey("raw", own(fromHex(fields.agreementPublicKey)).buffer, true);
	const info = concat(encoder.encode(LABEL), Uint8Array.of(0), fromHex(fields.deviceId));
	const sender = await suite.createSenderContext({ recipientPublicKey, info: info.buffer });
	const ciphertext = new Uint8Array(await sender.seal(plaintext.buffer, own(MAGIC).buffer));
	return { body, sealed: concat(MAGIC, new Uint8Array(sender.enc), ciphertext), time, nonce };
}

/** The topic a device takes its requests on. */
export const requestTopic = (topicId: string) => `dw/${topicId}/rq`;

/** A removal's payload: the phone key fingerprint (8 bytes) of the phone to remove. */
export function removalPayload(keyId: string): Uint8Array {
	if (!isHex(keyId, 8))
		throw new RequestError("a phone key fingerprint is 16 hex digits");
	return fromHex(keyId);
}

/** A role change's payload: the fingerprint, then 1 (owner) or 2 (member). */
export function rolePayload(keyId: string, role: "owner" | "member"): Uint8Array {
	return concat(removalPayload(keyId), Uint8Array.of(role === "owner" ? 1 : 2));
}

export const invitationMinutes = 10;
export const invitationIterations = 10000;

const trivial = (code: string) => /^(\d)\1{7}$/.test(code) || (code === "12345678") || (code === "87654321");

/** A fresh one-time code, 00000001 to 99999998 and none of the trivial ones, drawn without bias from the browser's RNG. */
export function newInvitationCode(): string {
	const limit = Math.floor(2 ** 32 / 99999998) * 99999998;
	for (;;) {
		const value = crypto.getRandomValues(new Uint32Array(1))[0];
		if (value >= limit)
			continue;
		const code = String(1 + (value % 99999998)).padStart(8, "0");
		if (!trivial(code))
			return code;
	}
}

/** The invite payload: salt (16) || iterations (4) || w0 (32) || L (65). Never the code. */
export function invitationPayload(code: string, salt: Uint8Array = crypto.getRandomValues(new Uint8Array(16))): Uint8Array {
	const { w0, w1 } = proverSecrets(encoder.encode(code), salt, invitationIterations);
	const iterations = new Uint8Array(4);
	new DataView(iterations.buffer).setUint32(0, invitationIterations);
	return concat(salt, iterations, fromHex(w0.toString(16).padStart(64, "0")), verifierPoint(w1));
}
