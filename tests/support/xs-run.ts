/*
 * Runs one firmware test module (tests/xs/*) inside the XS simulator host
 * and reports each of its "xs-test" lines as a node:test subtest.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Duplex } from "node:stream";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { deviceSecretFor } from "../../tools/sim/world.js";
import { BridgeLink } from "../../tools/sim/bridge.js";

/** A stand-in for the world on the host's bridge: told each message, it answers through `send`. */
export type XsWorld = (send: (type: number, payload: Buffer) => void) => { onMessage(type: number, payload: Buffer): void; close(): void };

/** `resources` stands in for the firmware image's resources (default: models/). */
/** `host`: another build of the simulator host (the sanitized one); the plain one by default. */
/** `world`: the module talks to a world over the bridge (descriptor 3), as the device's peripherals do. */
export async function runXsModule(t: TestContext, specifier: string, args: string[] = [], timeoutMs = 120000, resources?: string, host?: string, world?: XsWorld): Promise<void> {
	const build = simulatorBuild();
	const flash = join(mkdtempSync(join(tmpdir(), "doorward-xs-")), "flash.bin");
	const child = spawn(host ?? build.host, [
		"--modules", build.testModuleMap, "--main", specifier, "--flash", flash, "--partitions", build.partitions,
		"--device-secret", deviceSecretFor(flash), "--resources", resources ?? build.resources, ...(world ? ["--bridge", "3"] : []), "--", ...args,
	], { stdio: world ? ["ignore", "ignore", "pipe", "pipe"] : ["ignore", "ignore", "pipe"] });
	if (world) {
		let player: ReturnType<XsWorld> | undefined = undefined;
		const link = new BridgeLink(child.stdio[3] as Duplex, (type, payload) => player?.onMessage(type, payload));
		player = world((type, payload) => link.send(type, payload));
		child.on("close", () => player?.close());
	}
	let stderr = "";
	child.stderr!.setEncoding("utf8");
	child.stderr!.on("data", (chunk: string) => (stderr += chunk));
	const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
	const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
	clearTimeout(timer);
	const lines = stderr.split("\n");
	const results = lines.filter((line) => line.startsWith("xs-test "));
	assert.ok(results.length > 0, `no test ran in ${specifier}:\n${stderr}`);
	for (const line of results) {
		const passed = line.startsWith("xs-test ok ");
		const [name, reason] = line.replace(/^xs-test (not )?ok /, "").split(" :: ");
		await t.test(name, () => assert.ok(passed, reason));
	}
	const other = lines.filter((line) => line && !line.startsWith("xs-"));
	assert.ok(!/ERROR: AddressSanitizer|runtime error:/.test(stderr), `a sanitizer report:\n${other.join("\n")}`);
	assert.equal(status, results.every((line) => line.startsWith("xs-test ok ")) ? 0 : 1, `exit status; the host said:\n${other.join("\n")}`);
}
