/*
 * RFC 9180 test vectors (../shared/vectors/hpke) for DHKEM(X25519,
 * HKDF-SHA256) with HKDF-SHA256: every mode, AES-128-GCM and AES-256-GCM
 * (ChaCha20-Poly1305 is not in the binding), run inside the XS host.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { XsOracle, sharedFolder } from "../../tools/protocol/oracle.js";

const shared = sharedFolder();
const skip = shared ? false : "../shared is absent: the RFC 9180 vectors live there (see shared/README.md); not run";

test("RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-GCM, modes 0-3", { skip }, async (t) => {
	const vectors = JSON.parse(readFileSync(join(shared!, "vectors", "hpke", "test-vectors-x25519-sha256-all-modes.json"), "utf8")) as Record<string, unknown>[];
	const oracle = new XsOracle();
	try {
		let suites = 0;
		let encryptions = 0;
		let exports = 0;
		let skipped = 0;
		const failures: string[] = [];
		for (const vector of vectors) {
			if ((vector.kem_id !== 0x20) || (vector.kdf_id !== 1) || ![1, 2].includes(Number(vector.aead_id))) {
				skipped++;
				continue;
			}
			const name = `mode ${vector.mode} aead ${vector.aead_id}`;
			const reply = await oracle.request({ op: "hpke", ...vector });
			if (!reply.ok) {
				failures.push(`${name}: ${reply.error}`);
				continue;
			}
			if ((reply.enc !== vector.enc) || (reply.skRm !== vector.skRm) || (reply.pkRm !== vector.pkRm))
				failures.push(`${name}: key derivation or encapsulation differs`);
			const expected = vector.encryptions as { ct: string; pt: string }[];
			(reply.encryptions as { ct: string; pt: string }[]).forEach((item, i) => {
				if ((item.ct !== expected[i].ct) || (item.pt !== expected[i].pt))
					failures.push(`${name}: encryption ${i} differs`);
				else
					encryptions++;
			});
			const expectedExports = vector.exports as { exported_value: string }[];
			(reply.exports as string[]).forEach((value, i) => {
				if (value !== expectedExports[i].exported_value)
					failures.push(`${name}: export ${i} differs`);
				else
					exports++;
			});
			suites++;
		}
		t.diagnostic(`RFC 9180: ${suites} suites, ${encryptions} encryptions and openings, ${exports} exports matched; ${skipped} entries for other AEADs skipped`);
		assert.deepEqual(failures, []);
		assert.ok(suites >= 8, `${suites} suites ran`);
	}
	finally {
		await oracle.close();
	}
});
