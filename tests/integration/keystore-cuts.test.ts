/*
 * A power cut at every flash write and erase of the simulator's keystore
 * (hardware/keystore/records over the host's flash, DOORWARD_FLASH_CUT_AFTER)
 * leaves each entry with its old value or its new one, never neither and
 * never a mix, as ESP-IDF's NVS does on the device: the writes of one run
 * land in order (an entry is new only if every write before it is), and the
 * keystore takes writes again after the cut. The firmware side is
 * tests/xs/keystore-writer.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { deviceSecretFor } from "../../tools/sim/world.js";

const build = simulatorBuild();
const names = ["device-keys", "recipients", "tls-key", "record-key", "onboarding", "wifi"];

type Values = Record<string, string | undefined>;

/** Distinct bytes of `length`, as hex: no two values of the test share a byte pattern. */
function value(seed: number, length: number): string {
	return Buffer.from(Array.from({ length }, (_, i) => (seed * 131 + i * 7 + (i >> 8)) & 0xFF)).toString("hex");
}

interface Run {
	cut: boolean;
	wrote: string[];
	read: Values;
	errors: string[];
	stderr: string;
}

function run(flash: string, writes: [string, string][], reads: string[], cutAfter?: number): Run {
	const child = spawnSync(build.host, [
		"--modules", build.testModuleMap, "--main", "tests/keystore-writer", "--flash", flash, "--partitions", build.partitions,
		"--device-secret", deviceSecretFor(flash), "--", JSON.stringify({ writes, reads }),
	], { encoding: "utf8", timeout: 60000, env: { ...process.env, ...(cutAfter ? { DOORWARD_FLASH_CUT_AFTER: String(cutAfter) } : {}) } });
	const lines = child.stderr.split("\n");
	const result: Run = { cut: lines.some((line) => line.includes("power cut")), wrote: [], read: {}, errors: [], stderr: child.stderr };
	for (const line of lines) {
		const wrote = /^keystore-writer wrote (\S+)$/.exec(line);
		if (wrote)
			result.wrote.push(wrote[1]);
		const read = /^keystore-writer read (\S+) (value ([0-9a-f]*)|absent|error (.*))$/.exec(line);
		if (read) {
			result.read[read[1]] = read[3];
			if (read[4] !== undefined)
				result.errors.push(`${read[1]}: ${read[4]}`);
		}
	}
	assert.equal(child.status, 0, `the host failed:\n${child.stderr}`);
	return result;
}

function copyDevice(from: string, to: string): string {
	copyFileSync(from, to);
	copyFileSync(`${from}.efuse`, `${to}.efuse`);
	return to;
}

test("a power cut at every flash write and erase of keystore writes leaves each entry old or new, in order, and the keystore writable", { timeout: 600000 }, (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-keystore-cuts-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));

	// The template: five entries written, tls-key never; recipients and wifi rewritten, so that the spare has moved
	// and some sectors hold erased copies. onboarding is the largest entry the device takes (4000 bytes).
	const template = join(folder, "template.bin");
	const old: Values = {
		"device-keys": value(1, 97), recipients: value(2, 610), "tls-key": undefined, "record-key": value(4, 32), onboarding: value(5, 4000), wifi: value(6, 80),
	};
	const setup = run(template, [
		["recipients", value(20, 300)], ["wifi", value(21, 12)], ["device-keys", old["device-keys"]!], ["record-key", old["record-key"]!],
		["onboarding", old.onboarding!], ["recipients", old.recipients!], ["wifi", old.wifi!],
	], names);
	assert.ok(!setup.cut && (setup.errors.length === 0), setup.stderr);
	assert.deepEqual(setup.read, old, "the template");

	// One run's writes: a rewrite, a first write, a rewrite at the largest size, a rewrite that shrinks.
	const writes: [string, string][] = [["recipients", value(30, 1300)], ["tls-key", value(31, 121)], ["onboarding", value(32, 4000)], ["wifi", value(33, 20)]];
	const fresh: Values = Object.fromEntries(writes);
	let cuts = 0;
	for (let cut = 1; cut < 100; cut++) {
		const flash = copyDevice(template, join(folder, `cut-${cut}.bin`));
		const cutting = run(flash, writes, [], cut);
		if (!cutting.cut) {
			assert.deepEqual(cutting.wrote, writes.map(([name]) => name), "without a cut, every write was made");
			break;
		}
		cuts++;
		const after = run(flash, [], names);
		assert.deepEqual(after.errors, [], `cut ${cut}: ${after.stderr}`);
		// Each entry old or new; new ones a prefix of the writes, including every write that returned before the cut.
		let newSoFar = true;
		for (const [index, [name]] of writes.entries()) {
			const got = after.read[name];
			assert.ok((got === old[name]) || (got === fresh[name]), `cut ${cut}: ${name} is neither its old value nor its new one: ${got?.slice(0, 32)}...`);
			const isNew = (got === fresh[name]) && (old[name] !== fresh[name]);
			assert.ok(!isNew || newSoFar, `cut ${cut}: ${name} is new though an earlier write is not`);
			if (index < cutting.wrote.length)
				assert.ok(isNew, `cut ${cut}: ${name}'s write returned before the cut, yet the entry is old`);
			newSoFar &&= isNew;
		}
		for (const name of names.filter((name) => !(name in fresh)))
			assert.equal(after.read[name], old[name], `cut ${cut}: ${name}, not written, is as it was`);
		// And the keystore takes every entry again.
		const final: Values = Object.fromEntries(names.map((name, index) => [name, value(40 + index, 50 + 600 * index)]));
		const again = run(flash, Object.entries(final) as [string, string][], names);
		assert.deepEqual(again.errors, [], `cut ${cut}: ${again.stderr}`);
		assert.deepEqual(again.read, final, `cut ${cut}: written again after the cut`);
		rmSync(flash, { force: true });
		rmSync(`${flash}.efuse`, { force: true });
	}
	console.log(`power cuts: ${cuts} during four keystore writes; each entry old or new after every one`);
	// Four writes, each at least its record's body and commit word, and the old record's clear and erase where there is one.
	assert.ok(cuts >= 14, `${cuts} cuts`);
});
