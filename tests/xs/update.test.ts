/*
 * The update verifier (src/update) on XS, against every attack of the
 * signed-updates issue: each refusal is checked by its reason code. Bundles
 * are made here by tests/xs/update-writer.ts; the worked example of
 * docs/protocol/update.md, made on Node by the release tools, is verified
 * byte for byte as well (tests/unit/release.test.ts checks that the hex
 * below is what the tools produce).
 */
import { test, equal, ok, bytesEqual, AssertionError } from "tests/harness";
import { concat, fromHex, toHex } from "util/bytes";
import { UpdateError } from "update/errors";
import type { RefusalReason } from "update/errors";
import { parseSignedRoot, prefixLength } from "update/format";
import type { Root } from "update/format";
import { verifyBundleHeader, verifyFirstRoot, verifyRootUpdate } from "update/trust";
import type { DeviceState } from "update/trust";
import { BundleReader, ImageVerifier, verifyBundle } from "update/stream";
import { bundle, manifestBody, manifestFor, rootBody, signed, testKey } from "./update-writer";
import type { ManifestSpec, RootSpec, Signer } from "./update-writer";

/* ---- the worked example of docs/protocol/update.md, as the release tools wrote it ---- */

const exampleRootHex = "445752310102000000010201030201d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a02013d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c0202fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb9115489080250102fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025f4075f7478cf00a96a701c645ba4f889c8c09d8e30efb9d2033e49ebd080f2a02864421da38057e7afb7d232a9fa05e5384f1c81ddfc63ae52b9234bba6c970a";
const exampleBundleHex = "445755310100013144574d3101027869616f5f657370333273335f73656e73650000000000000000000000000000000100020000016b36ec80000000416cd743cc2f81639a7d97d2b2bb3e6f7cc8b49690ab43559a3768dad34f75aa940100112233445566778899aabbccddeeff0202d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a16449b3c1e8c48d3c2039e10790006c5d1169147ec4298629e81c3fe09678bce5a18285768d9b74dd1f1fcdcf5219b1cfb61fc6db1aadea7b736611ce7e49c03023d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660ca9a7cb946166ae947db39acae41fd7e42f836cd6b7bf9bb9eaf09c4e1d5f8b55fc87318c5efb2aac97d9bfed2771dcf43ece67cba82f09a93f1ca7208ed5a909446f6f727761726420312e322e303a2074686520776f726b6564206578616d706c65277320696d6167652c206e6f742061207265616c206669726d776172652e0a";

/* ---- helpers ---- */

/** The reason an UpdateError gives; fails the test if `body` is accepted or throws anything else. */
function refusal(body: () => unknown, what: string): RefusalReason {
	try {
		body();
	}
	catch (error) {
		if (error instanceof UpdateError)
			return error.reason;
		throw new AssertionError(`${what}: threw ${String(error)}, not an UpdateError`);
	}
	throw new AssertionError(`${what}: accepted`);
}

function refuses(body: () => unknown, reason: RefusalReason, what: string): void {
	equal(refusal(body, what), reason, what);
}

/** xorshift32: the same "random" offsets on every run. */
function seeded(seed: number): (below: number) => number {
	let state = seed >>> 0;
	return (below) => {
		state ^= state << 13;
		state >>>= 0;
		state ^= state >>> 17;
		state ^= state << 5;
		state >>>= 0;
		return state % below;
	};
}

function flipBit(bytes: Uint8Array, offset: number, bit: number): Uint8Array {
	const copy = bytes.slice();
	copy[offset] ^= 1 << bit;
	return copy;
}

function headerLengthOf(bytes: Uint8Array): number {
	return (bytes[6] << 8) | bytes[7];
}

function count(reasons: RefusalReason[]): string {
	const counts: Record<string, number> = {};
	for (const reason of reasons)
		counts[reason] = (counts[reason] ?? 0) + 1;
	return Object.keys(counts).sort().map((reason) => `${reason} ${counts[reason]}`).join(", ");
}

/* ---- keys, roots and the device ---- */

const P1 = testKey(0x11, "production");
const P2 = testKey(0x12, "production");
const P3 = testKey(0x13, "production");
const P4 = testKey(0x14, "production");
const R1 = testKey(0x21, "production");
const R2 = testKey(0x22, "production");
const R3 = testKey(0x23, "production");
const R4 = testKey(0x24, "production");
const D1 = testKey(0x31, "development");
const D2 = testKey(0x32, "development");
const X = testKey(0x41, "production");	// a key nobody trusts: the attacker's

const root1Spec: RootSpec = {
	channel: "production", version: 1, releaseThreshold: 2, rootThreshold: 2,
	keys: [{ key: P1, release: true }, { key: P2, release: true }, { key: P3, release: true }, { key: R1, root: true }, { key: R2, root: true }],
};
const root2Spec: RootSpec = {
	channel: "production", version: 2, releaseThreshold: 2, rootThreshold: 2,
	keys: [{ key: P2, release: true }, { key: P3, release: true }, { key: P4, release: true }, { key: R2, root: true }, { key: R3, root: true }],
};
const root3Spec: RootSpec = { ...root2Spec, version: 3, keys: [...root2Spec.keys.slice(0, 3), { key: R3, root: true }, { key: R4, root: true }] };
const root1: Root = parseSignedRoot(signed("root", rootBody(root1Spec), [R1, R2])).value;

const deviceId = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
const model = "xiao_esp32s3_sense";
const device: DeviceState = Object.freeze({
	root: root1, model, deviceId,
	firmwareVersion: { major: 1, minor: 4, patch: 0 },
	securityVersion: 3,
	now: Date.UTC(2026, 5, 1),
});
const expires = Date.UTC(2027, 0, 1) / 1000;

const random = seeded(0x5eed);
const image = new Uint8Array(40 * 1024 + 1000).map(() => random(256));	// ~40 KiB, not a multiple of 4 KiB

interface BundleOptions extends Partial<ManifestSpec> {
	signers?: Signer[];
	roots?: Uint8Array[];
	image?: Uint8Array;
}

function makeBundle(options: BundleOptions = {}): Uint8Array {
	const payload = options.image ?? image;
	const spec = { ...manifestFor(payload, { channel: "production", model, version: { major: 1, minor: 5, patch: 0 }, securityVersion: 3, expires, targets: [] }), ...options };
	return bundle(options.roots ?? [], signed("manifest", manifestBody(spec), options.signers ?? [P1, P2]), payload);
}

const good = makeBundle();

/* ---- the tests ---- */

test("the worked example, signed by the Node release tools, is accepted; the test writer makes the same bytes", () => {
	const exampleRoot = fromHex(exampleRootHex);
	const exampleBundle = fromHex(exampleBundleHex);
	const root = parseSignedRoot(exampleRoot).value;
	const header = verifyBundle(exampleBundle, {
		root, model, deviceId: "00112233445566778899aabbccddeeff",
		firmwareVersion: { major: 1, minor: 1, patch: 0 }, securityVersion: 1, now: Date.UTC(2026, 5, 1),
	});
	equal(header.manifest.imageSize, 65, "image size");
	equal(header.rootChanged, false, "no root update");

	const seed = (text: string) => testKey(fromHex(text), "production");
	const a = seed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	const b = seed("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
	const r = seed("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7");
	const rootBytes = signed("root", rootBody({ channel: "production", version: 1, releaseThreshold: 2, rootThreshold: 1, keys: [{ key: a, release: true }, { key: b, release: true }, { key: r, root: true }] }), [r]);
	equal(toHex(rootBytes), exampleRootHex, "root file");
	const exampleImage = exampleBundle.subarray(headerLengthOf(exampleBundle));
	const manifest = manifestFor(exampleImage, { channel: "production", model, version: { major: 1, minor: 2, patch: 0 }, securityVersion: 1, expires: 1798761600, targets: ["00112233445566778899aabbccddeeff"] });
	equal(toHex(bundle([], signed("manifest", manifestBody(manifest), [a, b]), exampleImage)), exampleBundleHex, "bundle");
});

test("a good bundle is accepted whole and streamed in chunks of any size, the header first", () => {
	const header = verifyBundle(good, device);
	equal(header.manifest.imageSize, image.length, "image size");
	const chunks = seeded(7);
	for (let round = 0; round < 20; round++) {
		const reader = new BundleReader(device);
		const received: Uint8Array[] = [];
		for (let at = 0; at < good.length;) {
			const size = (round < 2) ? round + 1 : 1 + chunks(round * 700);
			const out = reader.push(good.subarray(at, at + size));
			if (out.length)
				ok(reader.header !== undefined, "the header is verified before any image byte is released");
			received.push(out);
			at += size;
		}
		reader.finish();
		bytesEqual(concat(received), image, `round ${round}: the image bytes released`);
	}
	const verifier = new ImageVerifier(header.manifest);
	verifier.update(image.subarray(0, 100));
	verifier.update(new Uint8Array(0));
	verifier.update(image.subarray(100));
	verifier.finish();
	equal(verifier.received, image.length, "received");
});

test("200 bits flipped at seeded offsets of the manifest: every one refused", () => {
	const headerLength = headerLengthOf(good);
	const where = seeded(0xf11b);
	const reasons: RefusalReason[] = [];
	for (let i = 0; i < 200; i++) {
		const offset = where(headerLength);
		reasons.push(refusal(() => verifyBundle(flipBit(good, offset, where(8)), device), `bit flipped at ${offset}`));
	}
	trace(`xs-info manifest flips: ${count(reasons)}\n`);
	ok(reasons.includes("bad-signature") && reasons.includes("unknown-key"), `flips of the body and of the keys were among them: ${count(reasons)}`);
});

test("200 bits flipped at seeded offsets of the image: every one is a digest mismatch", () => {
	const headerLength = headerLengthOf(good);
	const where = seeded(0x1a4e6);
	for (let i = 0; i < 200; i++) {
		const offset = headerLength + where(image.length);
		const tampered = flipBit(good, offset, where(8));
		const reader = new BundleReader(device);
		for (let at = 0; at < tampered.length; at += 4096)
			reader.push(tampered.subarray(at, at + 4096));
		refuses(() => reader.finish(), "digest-mismatch", `bit flipped at ${offset}`);
	}
});

test("truncated at every 4 KiB boundary of the image, and inside the header", () => {
	const headerLength = headerLengthOf(good);
	let cuts = 0;
	for (let offset = 0; offset < image.length; offset += 4096) {
		const reader = new BundleReader(device);
		reader.push(good.subarray(0, headerLength + offset));
		refuses(() => reader.finish(), "truncated", `image cut at ${offset}`);
		cuts++;
	}
	equal(cuts, 11, "boundaries 0 to 40 KiB");
	for (const cut of [0, 3, prefixLength, 50, headerLength - 1]) {
		const reader = new BundleReader(device);
		reader.push(good.subarray(0, cut));
		equal(reader.header, undefined, "no header yet");
		refuses(() => reader.finish(), "truncated", `header cut at ${cut}`);
	}
});

test("an image longer than its manifest says is refused before the excess is released", () => {
	refuses(() => verifyBundle(concat([good, Uint8Array.of(0)]), device), "too-long", "one byte more");
	const reader = new BundleReader(device);
	const released = reader.push(good).length;
	equal(released, image.length, "the image itself");
	refuses(() => reader.push(new Uint8Array(4096)), "too-long", "endless data");
	refuses(() => reader.finish(), "too-long", "the refusal sticks");

	const verifier = new ImageVerifier(verifyBundle(good, device).manifest);
	verifier.update(image.subarray(0, 1000));
	refuses(() => verifier.update(new Uint8Array(image.length)), "too-long", "a chunk across the end");
	equal(verifier.received, 1000, "the refused chunk was not taken");
	refuses(() => verifier.update(new Uint8Array(0)), "too-long", "nothing after a refusal");
});

test("signatures: an unknown key, too few, a repeated signer, a root key signing a release", () => {
	refuses(() => verifyBundle(makeBundle({ signers: [X, P1] }), device), "unknown-key", "an unknown key with a known one");
	refuses(() => verifyBundle(makeBundle({ signers: [P1, P2, X] }), device), "unknown-key", "an unknown key beside enough known ones");
	refuses(() => verifyBundle(makeBundle({ signers: [X] }), device), "unknown-key", "an unknown key alone");
	refuses(() => verifyBundle(makeBundle({ signers: [P1] }), device), "threshold", "one of two");
	refuses(() => verifyBundle(makeBundle({ signers: [P1, P1] }), device), "duplicate-signer", "one key twice");
	refuses(() => verifyBundle(makeBundle({ signers: [R1, R2] }), device), "unknown-key", "root keys are not release keys");
	verifyBundle(makeBundle({ signers: [P3, P1, P2] }), device);
});

test("the manifest against the device: rollback, wrong model, replay, expiry, target devices", () => {
	refuses(() => verifyBundle(makeBundle({ securityVersion: 2, version: { major: 2, minor: 0, patch: 0 } }), device), "rollback", "a lower security version");
	verifyBundle(makeBundle({ securityVersion: 4 }), device);
	refuses(() => verifyBundle(makeBundle({ model: "xiao_esp32s3" }), device), "wrong-model", "another model");
	refuses(() => verifyBundle(makeBundle({ version: { major: 1, minor: 3, patch: 9 } }), device), "replay", "an older release");
	refuses(() => verifyBundle(makeBundle({ version: { major: 1, minor: 4, patch: 0 } }), device), "replay", "the running release again");
	verifyBundle(makeBundle({ version: { major: 1, minor: 4, patch: 1 } }), device);
	const now = device.now / 1000;
	refuses(() => verifyBundle(makeBundle({ expires: now - 1 }), device), "expired", "expired a second ago");
	refuses(() => verifyBundle(makeBundle({ expires: now }), device), "expired", "expires now");
	refuses(() => verifyBundle(good, { ...device, now: NaN }), "expired", "no time");
	verifyBundle(makeBundle({ expires: now + 1 }), device);
	const others = ["b0b1b2b3b4b5b6b7b8b9babbbcbdbebf", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"];
	refuses(() => verifyBundle(makeBundle({ targets: others }), device), "not-for-this-device", "for two other devices");
	verifyBundle(makeBundle({ targets: [...others, deviceId] }), device);
});

test("a replayed older manifest: last release's bundle, once accepted, is refused after the update", () => {
	const previous = makeBundle({ version: { major: 1, minor: 5, patch: 0 } });
	verifyBundle(previous, device);
	const updated = { ...device, firmwareVersion: { major: 1, minor: 5, patch: 0 } };
	refuses(() => verifyBundle(previous, updated), "replay", "the same bundle again");
	refuses(() => verifyBundle(makeBundle({ version: { major: 1, minor: 4, patch: 7 } }), updated), "replay", "an older one");
});

test("development keys never sign for a production device", () => {
	refuses(() => verifyBundle(makeBundle({ signers: [D1, P1] }), device), "development-key", "a development key in a production bundle");
	refuses(() => verifyBundle(makeBundle({ signers: [P1, D1] }), device), "development-key", "a development key second");
	refuses(() => verifyBundle(makeBundle({ channel: "development", signers: [D1, D2] }), device), "development-key", "a development bundle");
	refuses(() => verifyBundle(makeBundle({ signers: [{ key: D1, claims: "production" }, P1] }), device), "unknown-key", "a development key claiming production");
	refuses(() => verifyBundle(makeBundle({ channel: "development" }), device), "wrong-channel", "production keys signing a development manifest");
	refuses(() => parseSignedRoot(signed("root", rootBody({ ...root1Spec, keys: [...root1Spec.keys, { key: D1, release: true }] }), [R1, R2])), "development-key", "a production root listing a development key");
	const developmentRoot = parseSignedRoot(signed("root", rootBody({ channel: "development", version: 1, releaseThreshold: 1, rootThreshold: 1, keys: [{ key: D1, release: true, root: true }] }), [D1])).value;
	const board = { ...device, root: developmentRoot };
	verifyBundle(makeBundle({ channel: "development", signers: [D1] }), board);
	refuses(() => verifyBundle(good, board), "wrong-channel", "a production bundle on a development board");
});

test("root rotation: accepted when signed by the old threshold and the new, refused below either", () => {
	const root2 = (signers: Signer[]) => signed("root", rootBody(root2Spec), signers);
	const next = verifyRootUpdate(root1, parseSignedRoot(root2([R1, R2, R3])));
	equal(next.version, 2, "root 2");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(root2([R1, R3]))), "threshold", "one old root key");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(root2([R2, R3]))), "threshold", "one old root key, in both roots");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(root2([R1, R2]))), "threshold", "one new root key");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(root2([R1, R2, R3, X]))), "unknown-key", "and an unknown key");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(root2([P1, R1, R2, R3]))), "unknown-key", "a release key is not a root key");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(signed("manifest", rootBody(root2Spec), [R1, R2, R3]))), "bad-signature", "signatures made for a manifest");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(signed("root", rootBody(root1Spec), [R1, R2]))), "root-version", "the current root again");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(signed("root", rootBody({ ...root3Spec }), [R1, R2, R3, R4]))), "root-version", "skipping a version");
	refuses(() => verifyRootUpdate(root1, parseSignedRoot(signed("root", rootBody({ channel: "development", version: 2, releaseThreshold: 1, rootThreshold: 1, keys: [{ key: D1, release: true, root: true }] }), [D1]))), "wrong-channel", "to development");
});

test("root rotation inside a bundle: the new release keys count, the removed ones no longer do", () => {
	const rotation = signed("root", rootBody(root2Spec), [R1, R2, R3]);
	const header = verifyBundle(makeBundle({ roots: [rotation], signers: [P4, P2] }), device);
	ok(header.rootChanged, "the root changed");
	equal(header.root.version, 2, "to root 2");
	refuses(() => verifyBundle(makeBundle({ signers: [P4, P2] }), device), "unknown-key", "P4 without the rotation");
	refuses(() => verifyBundle(makeBundle({ roots: [rotation], signers: [P1, P2] }), device), "unknown-key", "P1 after the rotation");
	const rotation3 = signed("root", rootBody(root3Spec), [R2, R3, R4]);
	equal(verifyBundle(makeBundle({ roots: [rotation, rotation3], signers: [P3, P4] }), device).root.version, 3, "two rotations in order");
	refuses(() => verifyBundle(makeBundle({ roots: [rotation3, rotation] }), device), "root-version", "out of order");
	refuses(() => verifyBundle(makeBundle({ roots: [signed("root", rootBody(root2Spec), [R1, R3])] }), device), "threshold", "a rotation below threshold");
	const after = { ...device, root: header.root };
	verifyBundle(makeBundle({ signers: [P3, P4] }), after);
});

test("a rotation reaches the device's store once verified, even when the manifest after it is refused", () => {
	const rotation = signed("root", rootBody(root2Spec), [R1, R2, R3]);
	const stored: { version: number; bytes: Uint8Array }[] = [];
	const keep = (root: Root, bytes: Uint8Array) => stored.push({ version: root.version, bytes });
	const bundled = makeBundle({ roots: [rotation], signers: [P4, P2] });
	verifyBundleHeader(bundled.subarray(0, headerLengthOf(bundled)), device, keep);
	equal(stored.length, 1, "stored once");
	equal(stored[0].version, 2, "root 2");
	bytesEqual(stored[0].bytes, rotation, "exactly the signed root, as it arrived");
	// The manifest is signed by P1, which root 2 revoked: refused, and root 2 is stored all the same.
	const revoked = makeBundle({ roots: [rotation], signers: [P1, P2] });
	refuses(() => verifyBundleHeader(revoked.subarray(0, headerLengthOf(revoked)), device, keep), "unknown-key", "P1 after the rotation");
	equal(stored.length, 2, "stored although the manifest was refused");
	// Of two rotations, the second refused: the first is stored.
	const bad3 = signed("root", rootBody(root3Spec), [R2]);
	const partly = makeBundle({ roots: [rotation, bad3], signers: [P3, P4] });
	refuses(() => verifyBundleHeader(partly.subarray(0, headerLengthOf(partly)), device, keep), "threshold", "root 3 below threshold");
	equal(stored.length, 3, "the valid rotation before it");
	equal(stored[2].version, 2, "root 2, not 3");
	// No rotation: nothing to store.
	verifyBundleHeader(good.subarray(0, headerLengthOf(good)), device, keep);
	equal(stored.length, 3, "nothing for a bundle without a rotation");
	// And through the streaming reader, before the first image byte is released.
	const seen: number[] = [];
	const reader = new BundleReader(device, (root) => seen.push(root.version));
	const header = reader.push(bundled.subarray(0, headerLengthOf(bundled)));
	equal(header.length, 0, "no image byte yet");
	equal(seen.join(), "2", "the rotation handed over with the header");
});

test("a factory root is trusted only if its own root keys signed it to its threshold", () => {
	const file = signed("root", rootBody(root1Spec), [R1, R2]);
	equal(verifyFirstRoot(parseSignedRoot(file)).version, 1, "root 1, signed by R1 and R2");
	bytesEqual(parseSignedRoot(file).bytes, file, "the signed message's bytes are the file");
	refuses(() => verifyFirstRoot(parseSignedRoot(signed("root", rootBody(root1Spec), [R1]))), "threshold", "one of two root keys");
	refuses(() => verifyFirstRoot(parseSignedRoot(signed("root", rootBody(root1Spec), [P1, R1, R2]))), "unknown-key", "a release key signing the root");
	refuses(() => verifyFirstRoot(parseSignedRoot(signed("root", rootBody(root1Spec), [X]))), "unknown-key", "the attacker's key");
	refuses(() => verifyFirstRoot(parseSignedRoot(flipBit(file, file.length - 1, 0))), "bad-signature", "a damaged signature");
	refuses(() => verifyFirstRoot(parseSignedRoot(flipBit(file, 20, 0))), "bad-signature", "a damaged key");
});

test("oversized fields are refused before anything is allocated for them", () => {
	const prefix = good.slice(0, prefixLength);
	prefix[6] = 0x20;	// header length 8192 + ...
	prefix[7] = 0x01;
	const reader = new BundleReader(device);
	refuses(() => reader.push(prefix), "too-long", "a header over 8 KiB");
	const tooManyRoots = good.slice(0, prefixLength);
	tooManyRoots[5] = 5;
	refuses(() => new BundleReader(device).push(tooManyRoots), "too-long", "five root updates");
	refuses(() => verifyBundle(makeBundle({ signers: [P1, P2, P3, P4, R1, R2, R3, R4, X] }), device), "too-long", "nine signatures");
	const targets = Array.from({ length: 17 }, (_, i) => toHex(new Uint8Array(16).fill(i)));
	refuses(() => verifyBundle(makeBundle({ targets }), device), "too-long", "seventeen targets");
	refuses(() => verifyBundle(makeBundle({ imageSize: 0x300001 }), device), "too-long", "an image larger than a slot");
	const keys = [P1, P2, P3, P4, R1, R2, R3, R4, X].map((key) => ({ key, release: true, root: true }));
	refuses(() => parseSignedRoot(signed("root", rootBody({ ...root1Spec, keys }), [R1])), "too-long", "nine root keys");
	refuses(() => verifyBundle(makeBundle({ securityVersion: 17 }), device), "malformed", "a security version the eFuses cannot hold");
	refuses(() => verifyBundleHeader(concat([good.subarray(0, headerLengthOf(good)), Uint8Array.of(0)]), device), "malformed", "a byte after the manifest");
});
