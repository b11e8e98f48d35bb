/*
 * SPAKE2+ (RFC 9383) vectors from ../shared/vectors/spake2plus: the device's
 * verifier runs inside the XS simulator host (src/onboarding/spake2plus.ts
 * over the native P-256 of hardware/crypto/p256.c); the phone's prover
 * (tools/phone/spake2plus.ts, on @noble/curves) runs here. Each is checked
 * against the RFC, then against the other.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { XsOracle, sharedFolder } from "../../tools/protocol/oracle.js";
import { M, N, ProverExchange, identities, proverSecrets, verifierPoint } from "../../tools/phone/spake2plus.js";

const shared = sharedFolder();
const skip = shared ? false : "../shared is absent: the RFC 9383 vectors live there (see shared/README.md); not run";
const suite = "P256-SHA256-HKDF-SHA256-HMAC-SHA256";

type Vector = Record<string, string>;

function ourVectors(): Vector[] {
	const all = JSON.parse(readFileSync(join(shared!, "vectors", "spake2plus", "rfc9383.json"), "utf8")).vectors as Vector[];
	return all.filter((vector) => vector.ciphersuite === suite);
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const bytes = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

let oracle: XsOracle;
test.before(() => { if (shared) oracle = new XsOracle(); });
test.after(async () => { await oracle?.close(); });

test("M and N are the RFC's P-256 constants", { skip }, () => {
	const groups = JSON.parse(readFileSync(join(shared!, "vectors", "spake2plus", "rfc9383.json"), "utf8")).groups;
	const group = Array.isArray(groups) ? groups.find((entry: Record<string, string>) => /P-?256/.test(JSON.stringify(entry))) : groups["P-256"];
	assert.ok(group, "the vectors name the P-256 constants");
	const text = JSON.stringify(group).toLowerCase();
	assert.ok(text.includes(hex(M.toBytes(true))), "M");
	assert.ok(text.includes(hex(N.toBytes(true))), "N");
});

test("the device's verifier reproduces the RFC's vectors inside XS", { skip }, async (t) => {
	const vectors = ourVectors();
	assert.ok(vectors.length >= 1, `vectors for ${suite}`);
	for (const vector of vectors) {
		const L = await oracle.request({ op: "p256.mulAdd", a: vector.w1 });
		assert.equal(L.point, vector.L, "L = w1*G, native");
		const reply = await oracle.request({ op: "spake2plus.verifier", context: vector.Context, idProver: vector.idProver, idVerifier: vector.idVerifier,
			w0: vector.w0, L: vector.L, y: vector.y, shareP: vector.shareP, confirmP: vector.confirmP });
		assert.ok(reply.ok, reply.error);
		assert.equal(reply.shareV, vector.shareV, "shareV (Y)");
		assert.equal(reply.confirmV, vector.confirmV, "confirmV");
		assert.equal(reply.shared, vector.K_shared, "K_shared, after the prover's confirmation");
		assert.equal(reply.refused, "");
	}
	t.diagnostic(`${suite}: ${vectors.length} vector(s) matched on XS`);
});

test("the phone's prover reproduces the RFC's vectors", { skip }, () => {
	for (const vector of ourVectors()) {
		const ids = identities(vector.Context, vector.idProver, vector.idVerifier);
		const prover = new ProverExchange(ids, BigInt(`0x${vector.w0}`), BigInt(`0x${vector.w1}`), BigInt(`0x${vector.x}`));
		assert.equal(hex(prover.start()), vector.shareP, "shareP (X)");
		const { confirmP, shared: key } = prover.finish(bytes(vector.shareV), bytes(vector.confirmV));
		assert.equal(hex(confirmP), vector.confirmP, "confirmP");
		assert.equal(hex(key), vector.K_shared, "K_shared");
		assert.equal(hex(verifierPoint(BigInt(`0x${vector.w1}`))), vector.L, "L");
	}
});

test("a wrong confirmation is refused by the verifier, and gives no key", { skip }, async () => {
	const [vector] = ourVectors();
	const wrong = vector.confirmP.replace(/^./, (c) => (c === "0" ? "1" : "0"));
	const reply = await oracle.request({ op: "spake2plus.verifier", context: vector.Context, idProver: vector.idProver, idVerifier: vector.idVerifier,
		w0: vector.w0, L: vector.L, y: vector.y, shareP: vector.shareP, confirmP: wrong });
	assert.ok(reply.ok, reply.error);
	assert.equal(reply.shared, "");
	assert.match(String(reply.refused), /confirmation is wrong/);
});

test("shares off the curve, or that make Z the identity, are refused", { skip }, async () => {
	const [vector] = ourVectors();
	const base = { op: "spake2plus.verifier", context: vector.Context, idProver: vector.idProver, idVerifier: vector.idVerifier, w0: vector.w0, L: vector.L, confirmP: vector.confirmP };
	const offCurve = `${vector.shareP.slice(0, -2)}${vector.shareP.endsWith("00") ? "01" : "00"}`;
	const refusedOff = await oracle.request({ ...base, shareP: offCurve });
	assert.equal(refusedOff.ok, false);
	assert.match(String(refusedOff.error), /share is refused.*not on the curve|share is refused.*not an uncompressed point/);
	// X = w0*M makes X - w0*M the identity, so Z would be too.
	const w0M = hex(M.multiply(BigInt(`0x${vector.w0}`)).toBytes(false));
	const refusedZ = await oracle.request({ ...base, shareP: w0M });
	assert.equal(refusedZ.ok, false);
	assert.match(String(refusedZ.error), /share is refused.*identity/);
	const compressed = await oracle.request({ ...base, shareP: hex(M.toBytes(true)) });
	assert.equal(compressed.ok, false, "a compressed point is not a share");
});

test("PBKDF2-HMAC-SHA256 on XS matches Node's", { skip }, async () => {
	for (const [password, salt, iterations, length] of [["passwd", "salt", 1, 64], ["12345678", "0123456789abcdef", 1000, 80], ["", "s", 2, 33]] as const) {
		const reply = await oracle.request({ op: "pbkdf2-sha256", password: Buffer.from(password).toString("hex"), salt: Buffer.from(salt).toString("hex"), iterations, length });
		assert.equal(reply.dk, pbkdf2Sync(password, salt, iterations, length, "sha256").toString("hex"), `${password}/${salt}/${iterations}`);
	}
});

test("the phone and the device agree through a passcode, and a wrong passcode fails on both sides", { skip }, async () => {
	const salt = randomBytes(16);
	const iterations = 1000;
	const passcode = Buffer.from("20202021");
	const derived = await oracle.request({ op: "pbkdf2-sha256", password: passcode.toString("hex"), salt: salt.toString("hex"), iterations, length: 80 });
	const registered = await oracle.request({ op: "spake2plus.registration", pbkdf: derived.dk });
	const { w0, w1 } = proverSecrets(passcode, salt, iterations);
	assert.equal(registered.w0, w0.toString(16).padStart(64, "0"), "w0");
	assert.equal(registered.L, hex(verifierPoint(w1)), "L");
	const ids = identities("Doorward test", "phone", "device");
	for (const [code, right] of [["20202021", true], ["20202022", false]] as const) {
		const secrets = proverSecrets(Buffer.from(code), salt, iterations);
		const prover = new ProverExchange(ids, secrets.w0, secrets.w1);
		const shareP = prover.start();
		// The device answers first; the phone checks the device's confirmation, then the device checks the phone's.
		const answer = await oracle.request({ op: "spake2plus.respond", context: "Doorward test", idProver: "phone", idVerifier: "device",
			w0: registered.w0, L: registered.L, shareP: hex(shareP) });
		assert.ok(answer.ok, answer.error);
		if (right) {
			const { confirmP, shared: key } = prover.finish(bytes(String(answer.shareV)), bytes(String(answer.confirmV)));
			const finished = await oracle.request({ op: "spake2plus.finish", handle: answer.handle, confirmP: hex(confirmP) });
			assert.ok(finished.ok, finished.error);
			assert.equal(finished.shared, hex(key), "both sides hold the same key");
		}
		else {
			assert.throws(() => prover.finish(bytes(String(answer.shareV)), bytes(String(answer.confirmV))), /confirmation is wrong/);
			// Whatever the phone sends as its confirmation, the device gives no key.
			const finished = await oracle.request({ op: "spake2plus.finish", handle: answer.handle, confirmP: hex(randomBytes(32)) });
			assert.equal(finished.ok, false);
			assert.match(String(finished.error), /confirmation is wrong/);
		}
	}
});
