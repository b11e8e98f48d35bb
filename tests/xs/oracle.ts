/*
 * The crypto oracle: runs inside the XS simulator host and answers requests
 * from the conformance tests (tests/conformance/) through the firmware's own
 * binding and protocol code. Node reads the vector files and judges; every
 * computation happens here, on XS.
 *
 * Request and reply payloads: u32 JSON length | JSON | attachment bytes.
 */
import { onMessage, send } from "sim/bridge";
import { ToDevice, ToWorld } from "sim/bridge/messages";
import { gcmOpen, gcmSeal, hmac, x25519, ed25519Sign, ed25519Verify, ed25519PublicKey, digest } from "hardware/crypto";
import { extract, expand } from "crypto/hkdf";
import { decrypt as cobblestoneDecrypt, encrypt as cobblestoneEncrypt } from "crypto/cobblestone";
import { deriveKeyPair, setupRecipient, setupSender } from "crypto/hpke";
import type { AeadId, ModeId, SetupOptions } from "crypto/hpke";
import { concat, fromHex, toHex, totalLength, utf8Decode, utf8Encode } from "util/bytes";
import { bytes as randomBytes } from "hardware/random";
import { ticks } from "hardware/clock";
import { clipContext, sealEnvelope, wrapInfo } from "crypto/envelope";
import { encodeClipParts, paddingRecord } from "pipeline/clip";
import type { ClipMetadata } from "pipeline/clip";
import { VerifierExchange, pbkdf2, registration } from "onboarding/spake2plus";
import { mulAdd } from "hardware/p256";
import { header as liveHeader, nonce as liveNonce, plaintext as livePlaintext } from "live/format";

type Json = Record<string, unknown>;

const h = (value: unknown) => fromHex(String(value ?? ""));

function hpke(request: Json): Json {
	const mode = Number(request.mode) as ModeId;
	const aead = Number(request.aead_id) as AeadId;
	const ephemeral = deriveKeyPair(h(request.ikmE));
	const recipient = deriveKeyPair(h(request.ikmR));
	const options: SetupOptions = { info: h(request.info) };
	if (request.psk) {
		options.psk = h(request.psk);
		options.pskId = h(request.psk_id);
	}
	const receiving: SetupOptions = { ...options };
	if (request.ikmS) {
		const sender = deriveKeyPair(h(request.ikmS));
		options.sender = sender;
		receiving.senderPublicKey = sender.publicKey;
	}
	options.ephemeral = ephemeral;
	const { enc, context } = setupSender(mode, aead, recipient.publicKey, options);
	const opener = setupRecipient(mode, aead, enc, recipient, receiving);
	const encryptions = (request.encryptions as Json[]).map((item) => {
		const sealed = context.seal(h(item.aad), h(item.pt));
		let opened: string;
		try {
			opened = toHex(opener.open(h(item.aad), h(item.ct)));
		}
		catch (error) {
			opened = `error: ${(error as Error).message}`;
		}
		return { ct: toHex(sealed), pt: opened };
	});
	const exports = (request.exports as Json[]).map((item) => toHex(opener.export(h(item.exporter_context), Number(item.L))));
	return { skRm: toHex(recipient.secretKey), pkRm: toHex(recipient.publicKey), enc: toHex(enc), encryptions, exports };
}

/** Seals a clip of `size` random bytes for one phone, `rounds` times: ms per seal, measured on XS. */
function benchSeal(size: number, rounds: number): Json {
	const clip = new Uint8Array(size);
	for (let offset = 0; offset < size; offset += 65536)
		clip.set(randomBytes(Math.min(65536, size - offset)), offset);
	const phone = deriveKeyPair(randomBytes(32));
	const seed = randomBytes(32);
	const signer = { sign: (message: Uint8Array) => ed25519Sign(seed, message) };
	const header = { deviceId: "00".repeat(16), eventId: "11".repeat(16), seq: 1, time: 1 };
	const started = ticks();
	for (let i = 0; i < rounds; i++)
		sealEnvelope(header, [clip, paddingRecord(size)], [{ publicKey: phone.publicKey }], signer);
	return { msPerSeal: (ticks() - started) / rounds };
}

/**
 * `npm run bench:live`: one live-view frame sealed as the device seals it
 * (live/service: the padded plaintext, the header, the nonce, AES-256-GCM),
 * `rounds` times; and the same AES-256-GCM call alone over the padded bytes.
 */
function benchLiveSeal(size: number, rounds: number): Json {
	const frame = randomBytes(size);
	const key = randomBytes(32);
	const salt = randomBytes(12);
	let started = ticks();
	for (let counter = 0; counter < rounds; counter++) {
		const head = liveHeader(counter);
		gcmSeal(key, liveNonce(salt, counter), livePlaintext(1, 1795800000000 + counter, frame), head);
	}
	const perFrame = (ticks() - started) / rounds;
	const padded = livePlaintext(1, 0, frame);
	const head = liveHeader(0);
	const nonce = liveNonce(salt, 0);
	started = ticks();
	for (let i = 0; i < rounds; i++)
		gcmSeal(key, nonce, padded, head);
	return { msPerFrame: perFrame, msPerGcm: (ticks() - started) / rounds, padded: padded.length };
}

/** The public-key work of one event for one phone: an HPKE encapsulation (two X25519) and an Ed25519 signature. */
function benchPublicKey(rounds: number): Json {
	const phone = deriveKeyPair(randomBytes(32));
	const seed = randomBytes(32);
	const message = randomBytes(181);
	let started = ticks();
	for (let i = 0; i < rounds; i++)
		setupSender(0, 2, phone.publicKey, { info: message }).context.close();
	const encapsulation = (ticks() - started) / rounds;
	started = ticks();
	for (let i = 0; i < rounds; i++)
		ed25519Sign(seed, message);
	return { msPerEncapsulation: encapsulation, msPerSignature: (ticks() - started) / rounds };
}

/** `npm run bench:pairing`: the device's side of SPAKE2+ (respond and finish) and PBKDF2 at the provisioning iterations. */
function benchSpake2Plus(request: Json): Json {
	const verifier = { w0: h(request.w0), L: h(request.L) };
	const ids = { context: utf8Encode("bench"), idProver: new Uint8Array(0), idVerifier: utf8Encode("bench") };
	const rounds = Number(request.rounds);
	let started = ticks();
	for (let i = 0; i < rounds; i++) {
		const exchange = new VerifierExchange(ids, verifier);
		exchange.respond(h(request.shareP));
	}
	const respond = (ticks() - started) / rounds;
	started = ticks();
	pbkdf2(utf8Encode("31415926"), randomBytes(16), Number(request.iterations), 80);
	return { msPerRespond: respond, msPerPbkdf2: ticks() - started };
}

/** The specification's worked example: fixed inputs, every intermediate value. */
function example(request: Json): Json {
	const seed = h(request.deviceSeed);
	const header = { deviceId: String(request.deviceId), eventId: String(request.eventId), seq: Number(request.seq), time: Number(request.time) };
	const frames = (request.frames as string[]).map((frame) => fromHex(frame));
	const clip = encodeClipParts({ metadata: request.metadata as ClipMetadata, frames });
	const padding = paddingRecord(totalLength(clip));
	const padded = [...clip, padding];
	const ephemerals = (request.ephemeralIkm as string[]).map((ikm) => deriveKeyPair(h(ikm)));
	const recipients = (request.phones as string[]).map((publicKey) => ({ publicKey: h(publicKey) }));
	const signer = { sign: (message: Uint8Array) => ed25519Sign(seed, message) };
	const envelope = concat(sealEnvelope(header, padded, recipients, signer, { clipKey: h(request.clipKey), salt: h(request.salt), ephemerals }));
	return {
		devicePublicKey: toHex(ed25519PublicKey(seed)),
		clip: toHex(concat(clip)),
		paddingLength: padding.length,
		clipContext: toHex(clipContext(header)),
		wrapInfo: toHex(wrapInfo(header)),
		ephemeralPublicKeys: ephemerals.map((pair) => toHex(pair.publicKey)),
		envelope: toHex(envelope),
	};
}

// Exchanges in progress (spake2plus.respond, then spake2plus.finish).
const exchanges = new Map<number, VerifierExchange>();
let nextExchange = 1;

function answer(request: Json, attachment: Uint8Array): Json {
	switch (request.op) {
	case "gcm.seal":
		return { ct: toHex(gcmSeal(h(request.key), h(request.iv), h(request.msg), h(request.aad))) };
	case "gcm.open":
		return { msg: toHex(gcmOpen(h(request.key), h(request.iv), h(request.ct), h(request.aad))) };
	case "x25519":
		return { shared: toHex(x25519(h(request.private), h(request.public))) };
	case "ed25519.verify":
		return { valid: ed25519Verify(h(request.publicKey), h(request.msg), h(request.sig)) };
	case "ed25519.sign":
		return { publicKey: toHex(ed25519PublicKey(h(request.seed))), sig: toHex(ed25519Sign(h(request.seed), h(request.msg))) };
	case "hkdf-sha256":
		return { okm: toHex(expand("SHA-256", extract("SHA-256", h(request.salt), h(request.ikm)), h(request.info), Number(request.size))) };
	case "hmac-sha256":
		return { tag: toHex(hmac("SHA-256", h(request.key), h(request.msg))) };
	case "cobblestone.decrypt": {
		const message = cobblestoneDecrypt(h(request.key), h(request.ctx), attachment);
		return { length: message.length, sha512: toHex(digest("SHA-512", message)) };
	}
	case "cobblestone.roundtrip": {
		const message = cobblestoneDecrypt(h(request.key), h(request.ctx), attachment);
		const salt = attachment.subarray(0, 24);
		const again = cobblestoneEncrypt(h(request.key), h(request.ctx), message, salt);
		return { identical: (again.length === attachment.length) && again.every((byte, i) => byte === attachment[i]) };
	}
	case "hpke":
		return hpke(request);
	case "example":
		return example(request);
	case "bench.seal":
		return benchSeal(Number(request.size), Number(request.rounds));
	case "bench.spake2plus":
		return benchSpake2Plus(request);
	case "bench.liveSeal":
		return benchLiveSeal(Number(request.size), Number(request.rounds));
	case "bench.publicKey":
		return benchPublicKey(Number(request.rounds));
	case "p256.mulAdd":
		return { point: toHex(mulAdd(h(request.a), request.P ? h(request.P) : undefined, request.b ? h(request.b) : undefined, request.Q ? h(request.Q) : undefined)) };
	case "pbkdf2-sha256":
		return { dk: toHex(pbkdf2(h(request.password), h(request.salt), Number(request.iterations), Number(request.length))) };
	case "spake2plus.registration": {
		const { w0, w1, L } = registration(h(request.pbkdf));
		return { w0: toHex(w0), w1: toHex(w1), L: toHex(L) };
	}
	case "spake2plus.verifier": {
		const exchange = new VerifierExchange({ context: utf8Encode(String(request.context)), idProver: utf8Encode(String(request.idProver)), idVerifier: utf8Encode(String(request.idVerifier)) },
			{ w0: h(request.w0), L: h(request.L) }, request.y ? h(request.y) : undefined);
		const { shareV, confirmV } = exchange.respond(h(request.shareP));
		let shared = "", refused = "";
		try {
			shared = toHex(exchange.finish(h(request.confirmP)));
		}
		catch (error) {
			refused = (error as Error).message;
		}
		return { shareV: toHex(shareV), confirmV: toHex(confirmV), shared, refused };
	}
	case "spake2plus.respond": {
		const exchange = new VerifierExchange({ context: utf8Encode(String(request.context)), idProver: utf8Encode(String(request.idProver)), idVerifier: utf8Encode(String(request.idVerifier)) },
			{ w0: h(request.w0), L: h(request.L) });
		const handle = nextExchange++;
		exchanges.set(handle, exchange);
		const { shareV, confirmV } = exchange.respond(h(request.shareP));
		return { handle, shareV: toHex(shareV), confirmV: toHex(confirmV) };
	}
	case "spake2plus.finish": {
		const exchange = exchanges.get(Number(request.handle));
		exchanges.delete(Number(request.handle));
		if (!exchange)
			throw new RangeError("oracle: no such exchange");
		return { shared: toHex(exchange.finish(h(request.confirmP))) };
	}
	case "exit":
		host.exit(0);
		return {};
	default:
		throw new RangeError(`oracle: unknown operation ${String(request.op)}`);
	}
}

onMessage(ToDevice.OracleRequest, (payload) => {
	const bytes = new Uint8Array(payload);
	const length = new DataView(payload).getUint32(0);
	const request = JSON.parse(utf8Decode(bytes.subarray(4, 4 + length))) as Json;
	let reply: Json;
	try {
		reply = { id: request.id, ok: true, ...answer(request, bytes.subarray(4 + length)) };
	}
	catch (error) {
		reply = { id: request.id, ok: false, error: `${(error as Error).name}: ${(error as Error).message}` };
	}
	const json = utf8Encode(JSON.stringify(reply));
	const header = new Uint8Array(4);
	new DataView(header.buffer).setUint32(0, json.length);
	send(ToWorld.OracleReply, concat([header, json]).buffer as ArrayBuffer);
});
trace("oracle ready\n");
