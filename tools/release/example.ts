/*
 * The worked example of docs/protocol/update.md: a root and a bundle made by
 * the release tools from fixed inputs, every field printed. Ed25519 is
 * deterministic, so the bytes are too. tests/unit/release.test.ts checks
 * that the document shows exactly these bytes and that the firmware test
 * (tests/xs/update.test.ts) verifies exactly them on XS.
 *
 *   node --import ./tools/setup/register.mjs build/node/tools/release/example.js           prints the section
 *   node --import ./tools/setup/register.mjs build/node/tools/release/example.js --write   rewrites it in the doc
 */
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { encodeBundle, encodeManifest, encodeRoot, hex, sha256, signMessage } from "./format.js";
import type { ManifestFields, RootFields, SecretKey } from "./format.js";
import { projectRoot } from "../build/firmware.js";
import { publishWorkedExample, readWorkedExample } from "../protocol/worked-example.js";

export const exampleInputs = Object.freeze({
	// RFC 8032 section 7.1, tests 1, 2 and 3: public test keys, on purpose.
	releaseSeedA: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	releaseSeedB: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	rootSeed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	model: "xiao_esp32s3_sense",
	deviceId: "00112233445566778899aabbccddeeff",
	version: { major: 1, minor: 2, patch: 0 },
	securityVersion: 1,
	expires: 1798761600,	// 2027-01-01T00:00:00Z
	image: "Doorward 1.2.0: the worked example's image, not a real firmware.\n",
});

function key(seedHex: string, name: string): SecretKey {
	const seed = new Uint8Array(Buffer.from(seedHex, "hex"));
	return { role: "production", name, seed, publicKey: ed25519.getPublicKey(seed) };
}

export function exampleBytes(): { root: Uint8Array; bundle: Uint8Array; keys: SecretKey[] } {
	const inputs = exampleInputs;
	const a = key(inputs.releaseSeedA, "A");
	const b = key(inputs.releaseSeedB, "B");
	const r = key(inputs.rootSeed, "R");
	const rootFields: RootFields = {
		channel: "production", version: 1, releaseThreshold: 2, rootThreshold: 1,
		keys: [
			{ role: "production", publicKey: a.publicKey, release: true, root: false },
			{ role: "production", publicKey: b.publicKey, release: true, root: false },
			{ role: "production", publicKey: r.publicKey, release: false, root: true },
		],
	};
	const image = new Uint8Array(Buffer.from(inputs.image, "latin1"));
	const manifest: ManifestFields = {
		channel: "production", model: inputs.model, version: inputs.version, securityVersion: inputs.securityVersion,
		expires: inputs.expires, imageSize: image.length, imageDigest: sha256(image), targets: [inputs.deviceId],
	};
	const root = signMessage("root", encodeRoot(rootFields), [r]);
	const bundle = encodeBundle([], signMessage("manifest", encodeManifest(manifest), [a, b]), image);
	return { root, bundle, keys: [a, b, r] };
}

const wrap = (text: string, width = 64) => text.match(new RegExp(`.{1,${width}}`, "g"))!.join("\n");

function table(bytes: Uint8Array, rows: readonly [number, string][]): string {
	const lines = ["| bytes | field | value |", "| --- | --- | --- |"];
	let at = 0;
	for (const [length, field] of rows) {
		const value = hex(bytes.subarray(at, at + length));
		const range = (length === 1) ? `${at}` : `${at}-${at + length - 1}`;
		lines.push(`| ${range} | ${field} | \`${value}\` |`);
		at += length;
	}
	if (at !== bytes.length)
		throw new Error(`the example's table covers ${at} of ${bytes.length} bytes`);
	return lines.join("\n");
}

export function renderExample(): string {
	const inputs = exampleInputs;
	const { root, bundle, keys: [a, b, r] } = exampleBytes();
	const imageLength = inputs.image.length;
	const headerLength = bundle.length - imageLength;
	const signatureRows = (count: number, names: string[]) => [[1, "signature count"], ...Array.from({ length: count }, (_, i) => [
		[1, `signature ${i}: role (${names[i]})`], [32, `signature ${i}: public key`], [64, `signature ${i}: Ed25519 signature`],
	]).flat()] as [number, string][];
	return [
		"Inputs:",
		"",
		"| value | hex or text |",
		"| --- | --- |",
		`| release key A: Ed25519 seed (RFC 8032 §7.1 test 1) | \`${inputs.releaseSeedA}\` |`,
		`| release key A: public key | \`${hex(a.publicKey)}\` |`,
		`| release key B: seed (test 2) | \`${inputs.releaseSeedB}\` |`,
		`| release key B: public key | \`${hex(b.publicKey)}\` |`,
		`| root key R: seed (test 3) | \`${inputs.rootSeed}\` |`,
		`| root key R: public key | \`${hex(r.publicKey)}\` |`,
		"| root | production, version 1, release threshold 2 (A, B), root threshold 1 (R) |",
		`| manifest | production, \`${inputs.model}\`, 1.2.0, security version 1, expires ${inputs.expires} (2027-01-01T00:00:00Z), for device \`${inputs.deviceId}\` only |`,
		`| image (${imageLength} bytes of ASCII) | \`${JSON.stringify(inputs.image).slice(1, -1)}\` |`,
		`| image SHA-256 | \`${hex(sha256(new Uint8Array(Buffer.from(inputs.image, "latin1"))))}\` |`,
		"",
		`The root file is ${root.length} bytes, signed by R:`,
		"",
		table(root, [
			[4, "magic `DWR1`"], [1, "format version"], [1, "channel: production"], [4, "root version"],
			[1, "release threshold"], [1, "root threshold"], [1, "key count"],
			[1, "key 0: role"], [1, "key 0: uses (release)"], [32, "key 0: A"],
			[1, "key 1: role"], [1, "key 1: uses (release)"], [32, "key 1: B"],
			[1, "key 2: role"], [1, "key 2: uses (root)"], [32, "key 2: R"],
			...signatureRows(1, ["production"]),
		]),
		"",
		`The bundle is ${bundle.length} bytes: a header of ${headerLength} (no root update, the manifest signed by A and B), then the image:`,
		"",
		table(bundle, [
			[4, "magic `DWU1`"], [1, "format version"], [1, "root updates"], [2, "header length H"],
			[4, "manifest: magic `DWM1`"], [1, "format version"], [1, "channel: production"], [32, "hardware model"],
			[2, "major"], [2, "minor"], [2, "patch"], [1, "security version"], [4, "expires"], [4, "image size"],
			[32, "image SHA-256"], [1, "target count"], [16, "target 0"],
			...signatureRows(2, ["production", "production"]),
			[imageLength, "image"],
		]),
		"",
		"<details><summary>The root file and the bundle, hex</summary>",
		"",
		"```",
		wrap(hex(root)),
		"```",
		"",
		"```",
		wrap(hex(bundle)),
		"```",
		"",
		"</details>",
		"",
		`A device whose trusted root is this root file, model \`${inputs.model}\`, id \`${inputs.deviceId}\`, running 1.1.0 with security version 1, at 2026-06-01T00:00:00Z, accepts the bundle; \`tests/xs/update.test.ts\` checks that it does.`,
	].join("\n");
}

export const specification = join(projectRoot, "docs", "protocol", "update.md");

export function documentedExample(): string {
	return readWorkedExample(specification);
}

if (process.argv[1]?.endsWith("release/example.js")) {
	const rendered = renderExample();
	publishWorkedExample(specification, rendered);
}
