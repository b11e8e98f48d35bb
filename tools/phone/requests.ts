/*
 * The phone's signed requests (docs/protocol/requests.md), written from the
 * specification, independently of the device's side (src/requests/): the
 * body signed with the phone's Ed25519 key (@noble/curves), padded to a
 * fixed size, sealed to the device's X25519 key with HPKE (@hpke/core), and
 * published at QoS 1 on the device's request topic.
 *
 * The device answers nothing: a request it takes shows as its audit entry,
 * one it refuses as nothing at all (its log says why).
 */
import { randomBytes } from "node:crypto";
import { CipherSuite, Aes256Gcm, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { ed25519 } from "@noble/curves/ed25519.js";
import type { MqttClient } from "mqtt";
import type { PhoneIdentity } from "./identity.js";

export const MAGIC = Buffer.from("DWQ1", "ascii");
export const LABEL = "doorward/request/v1";
export const BUCKETS = [512, 2048] as const;
const HEADER = 80;
const SIGNATURE = 64;

/** The kinds this phone sends (the spec's table). */
export const Kind = Object.freeze({ Remove: 1, Invite: 2 } as const);

export class RequestError extends Error {}

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

export interface RequestFields {
	readonly kind: number;
	readonly payload: Uint8Array;
	/** The device it is for: its id and its X25519 key, from pairing. */
	readonly deviceId: string;
	readonly agreementPublicKey: string;
	/** The phone's Ed25519 secret key (32-byte seed, hex). */
	readonly signingSecretKey: string;
	/** ms since the epoch; default: this computer's clock. */
	readonly time?: number;
	/** 16 bytes; default: random. */
	readonly nonce?: Uint8Array;
	/** For the worked example only: the input keying material of a fixed HPKE ephemeral key (RFC 9180 DeriveKeyPair). */
	readonly ephemeralIkm?: Uint8Array;
}

export interface BuiltRequest {
	readonly body: Buffer;
	readonly signature: Buffer;
	readonly plaintext: Buffer;
	readonly sealed: Buffer;
}

const isHex = (value: string, bytes: number) => new RegExp(`^[0-9a-f]{${2 * bytes}}$`).test(value);

/** The signed body, its signature, the padded plaintext and the sealed request. */
export async function buildRequest(fields: RequestFields): Promise<BuiltRequest> {
	if (!Number.isInteger(fields.kind) || (fields.kind < 1) || (fields.kind > 255))
		throw new RequestError(`request kind ${fields.kind}: 1 to 255`);
	if (!isHex(fields.deviceId, 16) || !isHex(fields.agreementPublicKey, 32) || !isHex(fields.signingSecretKey, 32))
		throw new RequestError("a request needs the device's id and X25519 key and the phone's Ed25519 key, in hex");
	const nonce = Buffer.from(fields.nonce ?? randomBytes(16));
	if (nonce.length !== 16)
		throw new RequestError("a request's nonce is 16 bytes");
	const time = fields.time ?? Date.now();
	const seed = Buffer.from(fields.signingSecretKey, "hex");
	const header = Buffer.alloc(HEADER);
	MAGIC.copy(header, 0);
	header[4] = fields.kind;
	header[5] = 0;
	header.writeBigUInt64BE(BigInt(time), 6);
	nonce.copy(header, 14);
	Buffer.from(fields.deviceId, "hex").copy(header, 30);
	Buffer.from(ed25519.getPublicKey(seed)).copy(header, 46);
	header.writeUInt16BE(fields.payload.length, 78);
	const body = Buffer.concat([header, fields.payload]);
	const size = BUCKETS.find((bucket) => body.length + SIGNATURE <= bucket);
	if (!size)
		throw new RequestError(`a request payload of ${fields.payload.length} bytes is too large (at most ${BUCKETS[BUCKETS.length - 1] - HEADER - SIGNATURE})`);
	const signature = Buffer.from(ed25519.sign(Buffer.concat([Buffer.from(LABEL), Buffer.of(0), body]), seed));
	const plaintext = Buffer.alloc(size);
	body.copy(plaintext, 0);
	signature.copy(plaintext, body.length);
	const recipientPublicKey = await suite.kem.importKey("raw", Buffer.from(fields.agreementPublicKey, "hex"), true);
	const info = Buffer.concat([Buffer.from(LABEL), Buffer.of(0), Buffer.from(fields.deviceId, "hex")]);
	const sender = await suite.createSenderContext({
		recipientPublicKey,
		info,
		...(fields.ephemeralIkm ? { ekm: await suite.kem.deriveKeyPair(fields.ephemeralIkm.slice().buffer) } : {}),
	});
	const ciphertext = Buffer.from(await sender.seal(plaintext, MAGIC));
	const sealed = Buffer.concat([MAGIC, Buffer.from(sender.enc), ciphertext]);
	return { body, signature, plaintext, sealed };
}

/** The topic a device takes its requests on. */
export function requestTopic(topicId: string): string {
	return `dw/${topicId}/rq`;
}

/** Builds this phone's request for a paired device, with the keys the phone file holds. */
export async function phoneRequest(phone: PhoneIdentity, deviceId: string, kind: number, payload: Uint8Array, time?: number): Promise<{ topic: string; sealed: Buffer }> {
	const device = phone.devices[deviceId];
	if (!device)
		throw new RequestError(`this phone has not paired with device ${deviceId}`);
	if (!device.topicId)
		throw new RequestError(`this phone does not know the topic of device ${deviceId}: pair it again`);
	if (!phone.ed25519SecretKey)
		throw new RequestError("this phone has no signing key: it was never onboarded");
	const { sealed } = await buildRequest({ kind, payload, deviceId, agreementPublicKey: device.agreementPublicKey, signingSecretKey: phone.ed25519SecretKey, ...(time !== undefined ? { time } : {}) });
	return { topic: requestTopic(device.topicId), sealed };
}

/** Publishes a sealed request at QoS 1; resolves once the broker has it (PUBACK), which says nothing of the device. */
export async function publishRequest(client: MqttClient, topic: string, sealed: Uint8Array): Promise<void> {
	await client.publishAsync(topic, Buffer.from(sealed), { qos: 1 });
}

/** A removal's payload: the phone key fingerprint (8 bytes, hex on the command line) of the phone to remove. */
export function removalPayload(keyId: string): Buffer {
	if (!isHex(keyId, 8))
		throw new RequestError(`--key-id ${keyId.slice(0, 40)}: a phone key fingerprint is 16 hex digits (doorward phone keygen prints it)`);
	return Buffer.from(keyId, "hex");
}
