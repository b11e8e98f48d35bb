/*
 * The trusted update root on flash (src/update/root-store.ts): two copies,
 * the higher valid version wins, each new root written to the other sector.
 * Rotations from root 1 to root 5, with a power cut at every flash write
 * and erase of them, each torn three ways (nothing of it, its first half,
 * random bits): after each cut the device trusts the root it had or the one
 * being written, never none and never an older one, so a release key that a
 * stored rotation revoked is never trusted again. The copies are
 * authenticated records (store/record), as on the device.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { installFirstRoot, loadRoot, storeRoot } from "update/root-store";
import { Sectors } from "store/layout";
import { recordRegion, writeRecord } from "store/record";
import type { FlashRegion } from "store/flash-region";
import { NorFlash, PowerCut } from "../support/nor-flash.js";
import type { Tear } from "../support/nor-flash.js";
import { encodeRoot, hex, signMessage } from "../../tools/release/format.js";
import type { SecretKey } from "../../tools/release/format.js";
import { createKey } from "../../tools/release/keys.js";

const rootKeys = Array.from({ length: 6 }, (_, i) => createKey(`root-${i}`, "production"));
const releaseKeys = Array.from({ length: 6 }, (_, i) => createKey(`release-${i}`, "production"));

/** Root n: release key n only (so each rotation revokes the one before), root key n, signed by the old and the new root keys. */
function root(version: number): Uint8Array {
	const signers: SecretKey[] = version === 1 ? [rootKeys[1]] : [rootKeys[version - 1], rootKeys[version]];
	return signMessage("root", encodeRoot({
		channel: "production", version, releaseThreshold: 1, rootThreshold: 1,
		keys: [
			{ role: "production", publicKey: releaseKeys[version].publicKey, release: true, root: false },
			{ role: "production", publicKey: rootKeys[version].publicKey, release: false, root: true },
		],
	}), signers);
}

const roots = [1, 2, 3, 4, 5].map(root);
const recordKey = randomBytes(32);

/** The doorward partition on `nor`, its records authenticated as the device's are (HMAC-SHA-256 under the record key). */
function doorward(nor: NorFlash): FlashRegion {
	return recordRegion(nor, "doorward", Sectors, (message) => new Uint8Array(createHmac("sha256", recordKey).update(message).digest()));
}

const releaseKeyOf = (flash: FlashRegion) => hex(loadRoot(flash)!.root.keys.find((key) => key.release)!.publicKey);

test("the factory root, then rotations: each goes to the other sector and wins", () => {
	const nor = new NorFlash(16);
	const flash = doorward(nor);
	assert.equal(loadRoot(flash), undefined);
	assert.equal(installFirstRoot(flash, roots[0]).version, 1);
	assert.equal(loadRoot(flash)!.sector, Sectors.updateRoot);
	for (let version = 2; version <= 5; version++) {
		const before = loadRoot(flash)!.sector;
		assert.equal(storeRoot(flash, roots[version - 1]).version, version);
		const now = loadRoot(flash)!;
		assert.equal(now.root.version, version);
		assert.notEqual(now.sector, before, "never written over the trusted copy");
		assert.deepEqual(now.bytes, roots[version - 1]);
		assert.equal(releaseKeyOf(flash), hex(releaseKeys[version].publicKey));
	}
	// One record each, nothing else touched: body and commit word on an erased sector (roots 1 and 2); then the
	// old commit word cleared, the sector erased, body and commit word.
	assert.equal(nor.operations, 2 + 2 + 3 * 4);
});

test("a local message never replaces a trusted root: the same file is a no-op, any other is refused", () => {
	const nor = new NorFlash(16);
	const flash = doorward(nor);
	installFirstRoot(flash, roots[0]);
	const operations = nor.operations;
	assert.equal(installFirstRoot(flash, roots[0]).version, 1, "a station retrying after a cut");
	assert.equal(nor.operations, operations, "nothing written");
	assert.throws(() => installFirstRoot(flash, roots[1]), /^RangeError: update root 1 is already trusted; it changes only through a signed rotation$/);
	storeRoot(flash, roots[1]);
	assert.throws(() => installFirstRoot(flash, roots[0]), /update root 2 is already trusted/);
	assert.throws(() => storeRoot(flash, roots[0]), /update root: 1 does not follow the trusted root 2/);
	assert.throws(() => storeRoot(flash, roots[1]), /update root: 2 does not follow the trusted root 2/);
	assert.equal(loadRoot(flash)!.root.version, 2);
});

test("a copy that is not a whole root reads as no copy, the other one trusted; a copy changed on flash is refused", () => {
	const nor = new NorFlash(16);
	const flash = doorward(nor);
	installFirstRoot(flash, roots[0]);
	storeRoot(flash, roots[1]);
	// A record whose payload is not a signed root, in the sector of root 2.
	writeRecord(flash, Sectors.updateRootCopy, roots[1].subarray(0, 40));
	assert.equal(loadRoot(flash)!.root.version, 1);
	// Bits cleared in root 1's record (the first byte of its payload, "D"): the record is refused, as every record is (store/record).
	nor.bytes[Sectors.updateRoot * nor.blockSize + 44] &= 0x0F;
	assert.throws(() => loadRoot(flash), /^Error: record: doorward sector 6 \(updateRoot\) is corrupt: its CRC does not match$/);
});

for (const tear of ["none", "half", "bits"] as Tear[]) {
	test(`a power cut at every flash write and erase of four rotations, torn ${tear}: the old root or the new, never less`, () => {
		const clean = new NorFlash(16);
		installFirstRoot(doorward(clean), roots[0]);
		const start = clean.operations;
		for (let version = 2; version <= 5; version++)
			storeRoot(doorward(clean), roots[version - 1]);
		const total = clean.operations;
		let cuts = 0;
		for (let cut = start; cut < total; cut++) {
			const nor = new NorFlash(16, cut + 1);
			nor.tear = tear;
			const flash = doorward(nor);
			installFirstRoot(flash, roots[0]);
			nor.cutAfter = cut;
			let stored = 1;
			try {
				for (let version = 2; version <= 5; version++) {
					storeRoot(flash, roots[version - 1]);
					stored = version;
				}
				assert.fail(`cut ${cut}: no power cut`);
			}
			catch (error) {
				assert.ok(error instanceof PowerCut, String(error));
			}
			cuts++;
			nor.cutAfter = Infinity;
			const trusted = loadRoot(flash);
			assert.ok(trusted, `cut ${cut}: a root is trusted`);
			const version = trusted.root.version;
			assert.ok((version === stored) || (version === stored + 1), `cut ${cut}: root ${version} after root ${stored} was stored`);
			assert.deepEqual(trusted.bytes, roots[version - 1], `cut ${cut}: exactly the root file`);
			// Every release key of an earlier root is revoked: only root `version`'s own is listed.
			assert.equal(releaseKeyOf(flash), hex(releaseKeys[version].publicKey));
			for (let older = 1; older < version; older++)
				assert.ok(!trusted.root.keys.some((key) => hex(key.publicKey) === hex(releaseKeys[older].publicKey)), `cut ${cut}: release key ${older} revoked`);
			// And the device goes on: the rotation it lost arrives again and is stored.
			for (let next = version + 1; next <= 5; next++)
				storeRoot(flash, roots[next - 1]);
			assert.equal(loadRoot(flash)!.root.version, 5, `cut ${cut}: rotations resume`);
		}
		assert.equal(cuts, 2 + 3 * 4, "every write and erase of four rotations");
	});
}
