/*
 * `npm run bench:crypto`: what sealing costs on XS, as ratios to references
 * measured in the same run on the same machine.
 *
 * - Sealing a 1 MiB clip end to end (pad, Cobblestone-256, HPKE wrap for one
 *   phone, SHA-256, Ed25519) in the simulator host, against raw AES-256-GCM
 *   over 1 MiB in Node (OpenSSL, AES-NI): the overhead of our stack on XS.
 * - The per-event public-key work on XS (HPKE encapsulation, Ed25519 sign),
 *   against the same operations in Node's OpenSSL.
 *
 * Figures are medians of several runs; the machine is shared, so only the
 * ratios mean much. ESP32-S3 figures are projections, not measurements.
 */
import { createCipheriv, generateKeyPairSync, diffieHellman, sign, randomBytes } from "node:crypto";
import { XsOracle } from "../protocol/oracle.js";

const MiB = 1024 * 1024;

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

function time(rounds: number, body: () => void): number {
	const started = process.hrtime.bigint();
	for (let i = 0; i < rounds; i++)
		body();
	return Number(process.hrtime.bigint() - started) / 1e6 / rounds;
}

async function main(): Promise<void> {
	const clip = randomBytes(MiB);
	const key = randomBytes(32);
	const nonce = randomBytes(12);
	const aesGcm = () => {
		const cipher = createCipheriv("aes-256-gcm", key, nonce);
		cipher.update(clip);
		cipher.final();
		cipher.getAuthTag();
	};
	const phone = generateKeyPairSync("x25519");
	const device = generateKeyPairSync("ed25519");
	const message = randomBytes(181);
	const nodeEncapsulation = () => {
		const ephemeral = generateKeyPairSync("x25519");
		diffieHellman({ privateKey: ephemeral.privateKey, publicKey: phone.publicKey });
	};
	const nodeSign = () => sign(null, message, device.privateKey);

	const oracle = new XsOracle();
	try {
		const runs = 5;
		const seals: number[] = [];
		const raw: number[] = [];
		const encapsulations: number[] = [];
		const signatures: number[] = [];
		const nodeEncapsulations: number[] = [];
		const nodeSignatures: number[] = [];
		for (let run = 0; run < runs; run++) {
			raw.push(time(20, aesGcm));
			const seal = await oracle.request({ op: "bench.seal", size: MiB, rounds: 3 });
			if (!seal.ok)
				throw new Error(String(seal.error));
			seals.push(Number(seal.msPerSeal));
			const pk = await oracle.request({ op: "bench.publicKey", rounds: 200 });
			encapsulations.push(Number(pk.msPerEncapsulation));
			signatures.push(Number(pk.msPerSignature));
			nodeEncapsulations.push(time(200, nodeEncapsulation));
			nodeSignatures.push(time(200, nodeSign));
		}
		const seal = median(seals);
		const aes = median(raw);
		const lines = [
			`seal 1 MiB clip, XS host (pad + Cobblestone-256 + HPKE + SHA-256 + Ed25519): ${seal.toFixed(2)} ms = ${(1000 / seal).toFixed(1)} MiB/s`,
			`raw AES-256-GCM over 1 MiB, Node/OpenSSL (reference): ${aes.toFixed(3)} ms = ${(1000 / aes).toFixed(0)} MiB/s`,
			`ratio seal / raw AES-GCM: ${(seal / aes).toFixed(1)}x`,
			`HPKE encapsulation (X25519 key pair + DH + key schedule), XS host: ${median(encapsulations).toFixed(3)} ms; Node X25519 keygen + DH: ${median(nodeEncapsulations).toFixed(3)} ms; ratio ${(median(encapsulations) / median(nodeEncapsulations)).toFixed(1)}x`,
			`Ed25519 sign, XS host: ${median(signatures).toFixed(3)} ms; Node: ${median(nodeSignatures).toFixed(3)} ms; ratio ${(median(signatures) / median(nodeSignatures)).toFixed(1)}x`,
		];
		for (const line of lines)
			process.stdout.write(`${line}\n`);
	}
	finally {
		await oracle.close();
	}
}

await main();
