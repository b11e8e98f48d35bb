/*
 * The release tools on Node: keygen, root init and rotate, sign, cosign and
 * inspect, round trip; the refusals a release manager can run into; and the
 * specification's worked example (the bytes the XS test verifies).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { releaseCommand } from "../../tools/release/commands.js";
import { parseBundle, parseRootFile } from "../../tools/release/format.js";
import { documentedExample, exampleBytes, renderExample } from "../../tools/release/example.js";
import { projectRoot } from "../../tools/build/firmware.js";

interface Run {
	status: number;
	said: string;
	printed: string;
}

async function release(...args: string[]): Promise<Run> {
	const said: string[] = [];
	const printed: string[] = [];
	const status = await releaseCommand(args, (line) => said.push(line), (line) => printed.push(line));
	return { status, said: said.join("\n"), printed: printed.join("\n") };
}

async function ok(...args: string[]): Promise<Run> {
	const run = await release(...args);
	assert.equal(run.status, 0, `release ${args.join(" ")}:\n${run.said}\n${run.printed}`);
	return run;
}

function workspace(): { dir: string; image: string; at: (name: string) => string } {
	const dir = mkdtempSync(join(tmpdir(), "doorward-release-"));
	const image = join(dir, "firmware.bin");
	writeFileSync(image, Buffer.from(Array.from({ length: 50000 }, (_, i) => (i * 7919) & 255)));
	return { dir, image, at: (name) => join(dir, name) };
}

async function keys(dir: string, role: "development" | "production", ...names: string[]): Promise<void> {
	for (const name of names)
		await ok("keygen", "--out", dir, "--name", name, "--role", role);
}

test("keygen writes a 0600 secret key and a public key, with the role, and never overwrites", async () => {
	const { dir } = workspace();
	const run = await ok("keygen", "--out", join(dir, "keys"), "--name", "alice", "--role", "production");
	assert.match(run.said, /production key alice: [0-9a-f]{64}/);
	const secret = join(dir, "keys", "alice.key");
	assert.equal(statSync(secret).mode & 0o777, 0o600);
	const json = JSON.parse(readFileSync(secret, "utf8"));
	assert.equal(json.role, "production");
	assert.match(json.seed, /^[0-9a-f]{64}$/);
	const pub = JSON.parse(readFileSync(join(dir, "keys", "alice.pub"), "utf8"));
	assert.equal(pub.publicKey, json.publicKey);
	assert.equal(pub.seed, undefined, "the public file holds no secret");
	const again = await release("keygen", "--out", join(dir, "keys"), "--name", "alice");
	assert.equal(again.status, 1);
	assert.match(again.said, /exists; refusing to overwrite/);
	assert.equal((await release("keygen", "--out", dir, "--role", "staging")).status, 1);
	assert.equal((await release("keygen")).status, 2, "usage");
});

test("root init, sign with two of three keys, inspect: accepted; tampering is reported", async () => {
	const { dir, image, at } = workspace();
	await keys(dir, "production", "p1", "p2", "p3", "r1");
	await ok("root", "init", "--channel", "production", "--release-key", at("p1.pub"), "--release-key", at("p2.pub"), "--release-key", at("p3.pub"),
		"--root-key", at("r1.pub"), "--release-threshold", "2", "--root-threshold", "1", "--key", at("r1.key"), "-o", at("root-1.dwr"));
	const rootInspect = await ok("inspect", at("root-1.dwr"));
	assert.match(rootInspect.printed, /root 1, production, release threshold 2 of 3, root threshold 1 of 1/);
	assert.match(rootInspect.printed, /self-signed by its root keys: accepted/);

	await ok("sign", "--key", at("p1.key"), "--key", at("p3.key"), "--version", "1.5.0", "--security-version", "3", "--model", "xiao_esp32s3_sense",
		"--target", "00112233445566778899AABBCCDDEEFF", "--expires", "2099-01-01", "--root", at("root-1.dwr"), image, "-o", at("bundle.dwu"));
	const parsed = parseBundle(readFileSync(at("bundle.dwu")));
	assert.deepEqual(parsed.manifest.fields.version, { major: 1, minor: 5, patch: 0 });
	assert.equal(parsed.manifest.fields.channel, "production");
	assert.deepEqual(parsed.manifest.fields.targets, ["00112233445566778899aabbccddeeff"]);
	assert.equal(parsed.manifest.fields.expires, Date.UTC(2099, 0, 1) / 1000);
	assert.equal(parsed.image.length, 50000);

	const inspected = await ok("inspect", at("bundle.dwu"), "--root", at("root-1.dwr"));
	assert.match(inspected.printed, /manifest: production xiao_esp32s3_sense 1\.5\.0, security version 3/);
	assert.match(inspected.printed, /image 50000 bytes, SHA-256 [0-9a-f]{64}: matches/);
	assert.match(inspected.printed, /manifest, under root 1: accepted/);
	assert.match((await ok("inspect", at("bundle.dwu"))).printed, /not checked against a root/);

	const bytes = readFileSync(at("bundle.dwu"));
	const flippedImage = Buffer.from(bytes);
	flippedImage[flippedImage.length - 10] ^= 1;
	writeFileSync(at("image-flipped.dwu"), flippedImage);
	const imageRun = await release("inspect", at("image-flipped.dwu"), "--root", at("root-1.dwr"));
	assert.equal(imageRun.status, 1);
	assert.match(imageRun.printed, /DOES NOT MATCH/);

	const flippedManifest = Buffer.from(bytes);
	flippedManifest[20] ^= 1;	// the model
	writeFileSync(at("manifest-flipped.dwu"), flippedManifest);
	const manifestRun = await release("inspect", at("manifest-flipped.dwu"), "--root", at("root-1.dwr"));
	assert.equal(manifestRun.status, 1);
	assert.match(manifestRun.printed, /bad-signature/);
	assert.match(manifestRun.printed, /REFUSED/);
});

test("sign refuses a development key for production, and a bundle below the root's threshold", async () => {
	const { dir, image, at } = workspace();
	await keys(dir, "production", "p1", "p2");
	await keys(dir, "development", "d1");
	await ok("root", "init", "--channel", "production", "--release-key", at("p1.pub"), "--release-key", at("p2.pub"), "--root-key", at("p1.pub"),
		"--release-threshold", "2", "--root-threshold", "1", "--key", at("p1.key"), "-o", at("root.dwr"));
	const common = ["--version", "2.0.0", "--security-version", "0", "--model", "m1", image];

	const development = await release("sign", "--key", at("d1.key"), "--channel", "production", ...common, "-o", at("x.dwu"));
	assert.equal(development.status, 1);
	assert.match(development.said, /a development key can never sign for production/);
	const mixed = await release("sign", "--key", at("p1.key"), "--key", at("d1.key"), ...common, "-o", at("x.dwu"));
	assert.equal(mixed.status, 1, "the channel follows the first key, and the second does not fit it");
	const publicOnly = await release("sign", "--key", at("p1.pub"), ...common, "-o", at("x.dwu"));
	assert.match(publicOnly.said, /a public key; signing needs the \.key file/);

	const few = await release("sign", "--key", at("p1.key"), "--root", at("root.dwr"), ...common, "-o", at("few.dwu"));
	assert.equal(few.status, 1);
	assert.match(few.said, /root 1 would refuse this bundle/);
	await ok("sign", "--key", at("p1.key"), ...common, "-o", at("few.dwu"));
	assert.equal((await release("inspect", at("few.dwu"), "--root", at("root.dwr"))).status, 1, "one signature of two");
	await ok("cosign", at("few.dwu"), "--key", at("p2.key"), "-o", at("enough.dwu"));
	assert.match((await ok("inspect", at("enough.dwu"), "--root", at("root.dwr"))).printed, /accepted \(release threshold 2\)/);
	assert.equal((await release("cosign", at("enough.dwu"), "--key", at("p2.key"), "-o", at("twice.dwu"))).status, 1, "the same key twice");

	const root = parseRootFile(readFileSync(at("root.dwr")));
	assert.equal(root.fields.keys.find((key) => key.release && key.root)?.role, "production", "p1 is both a release and a root key");
	const developmentRoot = await release("root", "init", "--channel", "production", "--release-key", at("d1.pub"), "--root-key", at("p1.pub"),
		"--release-threshold", "1", "--root-threshold", "1", "--key", at("p1.key"), "-o", at("bad.dwr"));
	assert.equal(developmentRoot.status, 1);
	assert.match(developmentRoot.said, /a production root cannot list the development key/);

	assert.match((await release("sign", "--key", at("p1.key"), "--expires", "2001-01-01", ...common, "-o", at("x.dwu"))).said, /already past/);
	assert.match((await release("sign", "--key", at("p1.key"), "--version", "1.2", "--security-version", "0", "--model", "m1", image, "-o", at("x.dwu"))).said, /MAJOR\.MINOR\.PATCH/);
	assert.equal((await release("sign", "--key", at("p1.key"), "--version", "1.2.0", "--security-version", "17", "--model", "m1", image, "-o", at("x.dwu"))).status, 2);
	assert.match((await release("sign", "--key", at("p1.key"), "--version", "1.2.0", "--security-version", "1", "--model", "M1", image, "-o", at("x.dwu"))).said, /model "M1"/);
});

test("root rotate: signed by the old root keys and the new; below either threshold it is refused, or written --partial and cosigned", async () => {
	const { dir, image, at } = workspace();
	await keys(dir, "production", "p1", "p2", "r1", "r2", "r3");
	await ok("root", "init", "--channel", "production", "--release-key", at("p1.pub"), "--root-key", at("r1.pub"), "--root-key", at("r2.pub"),
		"--release-threshold", "1", "--root-threshold", "2", "--key", at("r1.key"), "--key", at("r2.key"), "-o", at("root-1.dwr"));
	const next = ["--from", at("root-1.dwr"), "--release-key", at("p2.pub"), "--root-key", at("r2.pub"), "--root-key", at("r3.pub"), "--release-threshold", "1", "--root-threshold", "2"];

	const below = await release("root", "rotate", ...next, "--key", at("r1.key"), "--key", at("r3.key"), "-o", at("root-2.dwr"));
	assert.equal(below.status, 1, "only one of the old root keys");
	assert.match(below.said, /not accepted yet/);
	await ok("root", "rotate", ...next, "--key", at("r1.key"), "--key", at("r3.key"), "--partial", "-o", at("partial.dwr"));
	assert.equal((await release("inspect", at("partial.dwr"), "--root", at("root-1.dwr"))).status, 1);
	await ok("cosign", at("partial.dwr"), "--key", at("r2.key"), "-o", at("root-2.dwr"));
	const rotated = await ok("inspect", at("root-2.dwr"), "--root", at("root-1.dwr"));
	assert.match(rotated.printed, /root 2, production/);
	assert.match(rotated.printed, /as the successor of root 1: accepted/);
	assert.equal((await release("root", "rotate", ...next, "--channel", "development", "--key", at("r1.key"), "-o", at("x.dwr"))).status, 2, "the channel cannot change");

	// A bundle that carries the rotation: signed by the new release key, accepted by a device that trusts root 1.
	await ok("sign", "--key", at("p2.key"), "--version", "1.0.1", "--security-version", "0", "--model", "m1", "--root-update", at("root-2.dwr"),
		"--root", at("root-1.dwr"), image, "-o", at("rotating.dwu"));
	const inspected = await ok("inspect", at("rotating.dwu"), "--root", at("root-1.dwr"));
	assert.match(inspected.printed, /root update 0: accepted/);
	assert.match(inspected.printed, /manifest, under root 2: accepted/);
	const oldKey = await release("sign", "--key", at("p1.key"), "--version", "1.0.1", "--security-version", "0", "--model", "m1", "--root-update", at("root-2.dwr"),
		"--root", at("root-1.dwr"), image, "-o", at("x.dwu"));
	assert.match(oldKey.said, /unknown-key/, "p1 was removed by the rotation");
});

test("docs/protocol/update.md's worked example is what the release tools produce, and what the XS test verifies", () => {
	assert.equal(documentedExample(), renderExample());
	const { root, bundle } = exampleBytes();
	const xsTest = readFileSync(join(projectRoot, "tests", "xs", "update.test.ts"), "utf8");
	assert.ok(xsTest.includes(`const exampleRootHex = "${Buffer.from(root).toString("hex")}";`), "the XS test's root file");
	assert.ok(xsTest.includes(`const exampleBundleHex = "${Buffer.from(bundle).toString("hex")}";`), "the XS test's bundle");
});
