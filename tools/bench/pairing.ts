/*
 * `npm run bench:pairing`: what onboarding costs, on XS against
 * @noble/curves on Node, in the same run on the same machine.
 *
 * - The device's side of SPAKE2+ (src/onboarding/spake2plus.ts: its
 *   native P-256 multiplications, the transcript and key schedule on XS)
 *   against the same verifier equations on @noble/curves (pure JavaScript,
 *   JIT-compiled).
 * - PBKDF2-HMAC-SHA256 at the provisioning iterations (10000, 80 bytes: 30000
 *   HMAC calls) on XS, against @noble/hashes on Node.
 *
 * Medians of several runs and their spread (min..max); the machine is shared,
 * so the ratios mean more than the times. The ESP32-S3 figures are
 * projections from a published figure (docs/protocol/onboarding.md), not
 * measurements.
 */
import { p256 } from "@noble/curves/nist.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "node:crypto";
import { XsOracle } from "../protocol/oracle.js";
import { M, N, ProverExchange, identities, proverSecrets, verifierPoint } from "../phone/spake2plus.js";

const iterations = 10000;

function stats(values: number[]): { median: number; min: number; max: number } {
	const sorted = [...values].sort((a, b) => a - b);
	return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
}

function time(rounds: number, body: () => void): number {
	const started = process.hrtime.bigint();
	for (let i = 0; i < rounds; i++)
		body();
	return Number(process.hrtime.bigint() - started) / 1e6 / rounds;
}

const show = (s: { median: number; min: number; max: number }) => `${s.median.toFixed(2)} ms (${s.min.toFixed(2)}..${s.max.toFixed(2)})`;

async function main(): Promise<void> {
	const salt = randomBytes(16);
	const { w0, w1 } = proverSecrets(new TextEncoder().encode("31415926"), salt, iterations);
	const L = verifierPoint(w1);
	const shareP = new ProverExchange(identities("bench", "", "bench"), w0, w1).start();
	const X = p256.Point.fromBytes(shareP);
	const Lp = p256.Point.fromBytes(L);
	const nobleRespond = () => {
		const y = p256.Point.Fn.fromBytes(p256.utils.randomSecretKey());
		p256.Point.BASE.multiply(y).add(N.multiply(w0)).toBytes(false);
		X.subtract(M.multiply(w0)).multiply(y).toBytes(false);
		Lp.multiply(y).toBytes(false);
	};
	const oracle = new XsOracle();
	try {
		const runs = 7;
		const xsRespond: number[] = [], xsPbkdf: number[] = [], nodeRespond: number[] = [], nodePbkdf: number[] = [];
		for (let run = 0; run < runs; run++) {
			const reply = await oracle.request({ op: "bench.spake2plus", w0: w0.toString(16).padStart(64, "0"), L: Buffer.from(L).toString("hex"), shareP: Buffer.from(shareP).toString("hex"), rounds: 20, iterations });
			if (reply.msPerRespond === undefined)
				throw new Error(String(reply.error));
			xsRespond.push(Number(reply.msPerRespond));
			xsPbkdf.push(Number(reply.msPerPbkdf2));
			nodeRespond.push(time(20, nobleRespond));
			nodePbkdf.push(time(1, () => pbkdf2(sha256, "31415926", salt, { c: iterations, dkLen: 80 })));
		}
		const [a, b, c, d] = [stats(xsRespond), stats(nodeRespond), stats(xsPbkdf), stats(nodePbkdf)];
		const lines = [
			`SPAKE2+ verifier respond (its P-256 multiplications + key schedule), XS host (Mbed TLS ECP): ${show(a)}`,
			`SPAKE2+ verifier equations, @noble/curves on Node: ${show(b)}; ratio XS / noble ${(a.median / b.median).toFixed(2)}x`,
			`PBKDF2-HMAC-SHA256 x ${iterations}, 80 bytes (the verifier, at provisioning), XS host: ${show(c)}`,
			`PBKDF2-HMAC-SHA256 x ${iterations}, 80 bytes, @noble/hashes on Node: ${show(d)}; ratio XS / noble ${(c.median / d.median).toFixed(2)}x`,
			"ESP32-S3 projection, not a measurement (docs/protocol/onboarding.md): the one published P-256 figure for the S3 we found is",
			"  wolfSSL 5.5.4's benchmark on ESP-IDF v5.0 at 160 MHz (gojimmypi/wolfssl, IDE/Espressif/ESP-IDF/examples/wolfssl_benchmark/logs/",
			"  wolfssl_benchmark_IDF_v5_ESP32S3.txt, 2023): ECDHE SECP256R1 agree 268.5 ms, key gen 269 ms (the same log gives Ed25519 sign",
			"  11.95 ms, the figure DEVELOPERS.md uses). respond is about five variable-base multiplications (y*G + w0*N, X - w0*M, y*(..), y*L),",
			`  so ${(5 * 268.5 / 1000).toFixed(1)} s per attempt at 160 MHz, ${(5 * 268.5 * 160 / 240 / 1000).toFixed(1)} s at 240 MHz, with Mbed TLS's ECP in place of wolfSSL's (same class of`,
			"  generic C; Mbed TLS's fixed-base comb makes y*G cheaper): once per pairing, under the window's attempt limit. PBKDF2 is 30000 native HMAC calls from an XS loop: "
				+ `${(c.median / 30).toFixed(1)} us per call here; at 10-30x that on the device, ${(c.median * 10 / 1000).toFixed(0)}-${(c.median * 30 / 1000).toFixed(0)} s, once per device at the factory.`,
		];
		for (const line of lines)
			process.stdout.write(`${line}\n`);
	}
	finally {
		await oracle.close();
	}
}

await main();
