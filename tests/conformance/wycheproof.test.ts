/*
 * Project Wycheproof vectors (../shared/vectors/wycheproof), run inside the
 * XS simulator host through the native binding and the TypeScript above it.
 * Every valid vector must pass and every invalid one must be refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { inflateSync } from "node:zlib";
import { join } from "node:path";
import { XsOracle, sharedFolder } from "../../tools/protocol/oracle.js";
import type { Reply } from "../../tools/protocol/oracle.js";

const shared = sharedFolder();
const skip = shared ? false : "../shared is absent: the Wycheproof vectors live there (see shared/README.md); not run";

interface Vector { tcId: number; comment: string; result: "valid" | "invalid" | "acceptable"; flags: string[]; [key: string]: unknown }
interface Group { tests: Vector[]; [key: string]: unknown }

function load(name: string): Group[] {
	return JSON.parse(readFileSync(join(shared!, "vectors", "wycheproof", name), "utf8")).testGroups;
}

interface Tally { valid: number; invalid: number; acceptable: number; skipped: number; failures: string[] }

function tally(): Tally {
	return { valid: 0, invalid: 0, acceptable: 0, skipped: 0, failures: [] };
}

function report(t: { diagnostic(message: string): void }, name: string, counts: Tally): void {
	t.diagnostic(`${name}: ${counts.valid} valid passed, ${counts.invalid} invalid refused, ${counts.acceptable} acceptable decided, ${counts.skipped} out of scope`);
	assert.deepEqual(counts.failures, [], `${name} failures`);
}

let oracle: XsOracle;
test.before(() => { if (shared) oracle = new XsOracle(); });
test.after(async () => { await oracle?.close(); });

test("AES-GCM (96-bit IVs, 128/192/256-bit keys)", { skip }, async (t) => {
	const counts = tally();
	for (const group of load("aes_gcm_test.json")) {
		for (const vector of group.tests) {
			if ((group.ivSize !== 96) || (group.tagSize !== 128)) {
				counts.skipped++; // the binding takes 12-byte nonces and 16-byte tags only, as the protocol does
				continue;
			}
			const opened = await oracle.request({ op: "gcm.open", key: vector.key, iv: vector.iv, ct: `${vector.ct}${vector.tag}`, aad: vector.aad });
			if (vector.result === "valid") {
				const sealed = await oracle.request({ op: "gcm.seal", key: vector.key, iv: vector.iv, msg: vector.msg, aad: vector.aad });
				if (!opened.ok || (opened.msg !== vector.msg) || (sealed.ct !== `${vector.ct}${vector.tag}`))
					counts.failures.push(`tcId ${vector.tcId}: ${opened.error ?? "mismatch"}`);
				else
					counts.valid++;
			}
			else if (opened.ok)
				counts.failures.push(`tcId ${vector.tcId} (${vector.comment}) was accepted`);
			else
				counts.invalid++;
		}
	}
	report(t, "aes_gcm_test.json", counts);
});

test("X25519, all-zero shared secrets refused (RFC 9180 §7.1.4)", { skip }, async (t) => {
	const counts = tally();
	for (const group of load("x25519_test.json")) {
		for (const vector of group.tests) {
			const reply = await oracle.request({ op: "x25519", private: vector.private, public: vector.public });
			const zero = /^0+$/.test(String(vector.shared));
			if (zero) {
				// Valid by RFC 7748, but a DHKEM must refuse it: we require the refusal.
				if (reply.ok)
					counts.failures.push(`tcId ${vector.tcId}: all-zero shared secret accepted`);
				else
					counts[vector.result === "valid" ? "valid" : "acceptable"]++;
			}
			else if ((vector.result === "valid") || (vector.result === "acceptable")) {
				if (!reply.ok || (reply.shared !== vector.shared))
					counts.failures.push(`tcId ${vector.tcId} (${vector.comment}): ${reply.error ?? reply.shared}`);
				else
					counts[vector.result]++;
			}
			else if (reply.ok)
				counts.failures.push(`tcId ${vector.tcId} accepted`);
			else
				counts.invalid++;
		}
	}
	report(t, "x25519_test.json", counts);
});

test("Ed25519 verification (and signing where the private key is given)", { skip }, async (t) => {
	const counts = tally();
	for (const group of load("ed25519_test.json")) {
		const publicKey = String((group.publicKey as Record<string, unknown>).pk);
		const seed = (group.privateKey as Record<string, unknown> | undefined)?.sk as string | undefined;
		for (const vector of group.tests) {
			const reply = await oracle.request({ op: "ed25519.verify", publicKey, msg: vector.msg, sig: vector.sig });
			if (vector.result === "valid") {
				let signedOk = true;
				if (seed) {
					const signed = await oracle.request({ op: "ed25519.sign", seed, msg: vector.msg });
					signedOk = signed.ok && (signed.sig === vector.sig) && (signed.publicKey === publicKey);
				}
				if (reply.valid === true && signedOk)
					counts.valid++;
				else
					counts.failures.push(`tcId ${vector.tcId} (${vector.comment}): valid signature refused or signing differs`);
			}
			else if (reply.valid === false)
				counts.invalid++;
			else
				counts.failures.push(`tcId ${vector.tcId} (${vector.comment}): invalid signature accepted`);
		}
	}
	report(t, "ed25519_test.json", counts);
});

test("HKDF-SHA-256", { skip }, async (t) => {
	const counts = tally();
	for (const group of load("hkdf_sha256_test.json")) {
		for (const vector of group.tests) {
			const reply = await oracle.request({ op: "hkdf-sha256", ikm: vector.ikm, salt: vector.salt, info: vector.info, size: vector.size });
			if (vector.result === "valid") {
				if (reply.ok && (reply.okm === vector.okm))
					counts.valid++;
				else
					counts.failures.push(`tcId ${vector.tcId}: ${reply.error ?? "mismatch"}`);
			}
			else if (reply.ok)
				counts.failures.push(`tcId ${vector.tcId} (${vector.comment}) accepted`);
			else
				counts.invalid++;
		}
	}
	report(t, "hkdf_sha256_test.json", counts);
});

test("HMAC-SHA-256, full and truncated tags", { skip }, async (t) => {
	const counts = tally();
	for (const group of load("hmac_sha256_test.json")) {
		const tagBytes = Number(group.tagSize) / 8;
		for (const vector of group.tests) {
			const reply = await oracle.request({ op: "hmac-sha256", key: vector.key, msg: vector.msg });
			// A verifier compares the computed tag, truncated to the group's size, in full.
			const matches = reply.ok && (String(reply.tag).slice(0, tagBytes * 2) === vector.tag) && (String(vector.tag).length === tagBytes * 2);
			if ((vector.result === "valid") === matches)
				counts[vector.result === "valid" ? "valid" : "invalid"]++;
			else
				counts.failures.push(`tcId ${vector.tcId} (${vector.comment})`);
		}
	}
	report(t, "hmac_sha256_test.json", counts);
});

test("Cobblestone-256 (C2SP chunked encryption)", { skip }, async (t) => {
	const counts = tally();
	for (const group of load("c2sp_chunked_encryption_aes_256_gcm_test.json")) {
		for (const vector of group.tests) {
			const ciphertext = inflateSync(Buffer.from(String(vector.ct), "hex"));
			const reply: Reply = await oracle.request({ op: "cobblestone.decrypt", key: vector.key, ctx: vector.ctx }, ciphertext);
			if (vector.result === "valid") {
				const again = await oracle.request({ op: "cobblestone.roundtrip", key: vector.key, ctx: vector.ctx }, ciphertext);
				if (reply.ok && (reply.length === vector.msgLength) && (reply.sha512 === vector.msgSha512) && again.identical)
					counts.valid++;
				else
					counts.failures.push(`tcId ${vector.tcId} (${vector.comment}): ${reply.error ?? "mismatch"}`);
			}
			else if (reply.ok)
				counts.failures.push(`tcId ${vector.tcId} (${vector.comment}; ${vector.flags.join(",")}) accepted`);
			else
				counts.invalid++;
		}
	}
	report(t, "c2sp_chunked_encryption_aes_256_gcm_test.json", counts);
});
