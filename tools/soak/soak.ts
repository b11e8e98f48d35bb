/*
 * `npm run soak [-- --events N] [--interval MS] [--warmup N]`: the doorbell in
 * the simulator host, rung N times (default 1,000) in front of the default
 * scene, with the embedded broker and a phone that opens every event. A ring
 * is two events, its notification and its clip; each ring waits for both of
 * the last one's at the phone (at most 20 s), then --interval ms more
 * (default 600: past the ring debounce, src/pipeline/triggers). The clips are
 * short (3 frames of pre-roll and 3 after, at 15 fps) so that 1,000 rings
 * take minutes, not hours; each still goes through the ring buffer, the
 * detect stage, the seal, the outbox and the phone as a default clip does. It
 * prints the firmware's XS memory, live chunk bytes and slots after a full
 * collection (host.memory(), reported by tools/xs/soak.ts), once the first
 * --warmup events (default 10) are through and the device is idle, and again
 * after the N events, idle: what a leak per event would grow.
 *
 * A tool, not a test: it runs for minutes. Exit code 1 if memory grew, if an
 * event did not reach the phone, or the device stopped.
 */
import { labelOf } from "../factory/label.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadScene } from "../sim/scene.js";
import type { Scene } from "../sim/scene.js";
import { SimulatedDevice, deviceSecretFor } from "../sim/world.js";
import { SimulatedPhone } from "../sim/phone.js";
import { startEmbeddedBroker } from "../sim/broker.js";
import { createPhone, rememberDevice } from "../phone/identity.js";
import { simulatorBuild } from "../build/firmware.js";
import { defaultScene } from "../sim/run.js";

interface Memory {
	chunks: number;
	slots: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
	const { values } = parseArgs({
		options: {
			events: { type: "string", default: "1000" },
			warmup: { type: "string", default: "10" },
			interval: { type: "string", default: "600" },
			scene: { type: "string", default: defaultScene },
		},
	});
	const events = Number(values.events), warmup = Number(values.warmup), interval = Number(values.interval);
	if (!Number.isInteger(events) || (events < 1) || !Number.isInteger(warmup) || (warmup < 1) || !(interval >= 100))
		throw new Error("--events and --warmup are positive integers, --interval at least 100 ms");
	const loaded = loadScene(values.scene);
	// One of the scene's frames (the visitor), at 20 fps; the timeline is ours. One frame, so that the
	// pre-roll ring buffer, which runs all the time, holds frames of the same size whenever memory is
	// measured: with the scene's several frames its bytes differ from report to report by the frames' sizes.
	const scene: Scene = { ...loaded, frames: loaded.frames.slice(-1), fps: 20, timeline: [] };
	const out = mkdtempSync(join(tmpdir(), "doorward-soak-"));
	const build = simulatorBuild();
	const broker = await startEmbeddedBroker();
	const identity = createPhone("soak phone");
	let received = 0;
	let lastEventAt = Date.now();
	const kinds = new Map<string, number>();
	const phone = await SimulatedPhone.connect({
		url: broker.url, identity, topics: "all", credentials: broker.phone, outDir: join(out, "phone"),
		onEvent: (event) => {
			received++;
			lastEventAt = Date.now();
			kinds.set(event.kind, (kinds.get(event.kind) ?? 0) + 1);
			// Only the count matters here; keep the disk small.
			rmSync(join(out, "phone", event.eventId), { recursive: true, force: true });
		},
		onWarning: (message) => process.stderr.write(`phone: ${message}\n`),
	});
	let memory: Memory | undefined;
	let memoryAt = 0;
	const problems: string[] = [];
	const flashPath = join(out, "flash.bin");
	const device = new SimulatedDevice({
		build, flashPath, secretPath: deviceSecretFor(flashPath), toolMain: "tools/soak",
		configuration: {
			broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "doorward-sim", hardwareRevision: "sim",
			burst: { preRollFrames: 3, frames: 3, fps: 15 },
		},
		onLog: (line) => {
			if (line.startsWith("soak-memory ")) {
				memory = JSON.parse(line.slice(12)) as Memory;
				memoryAt = Date.now();
			}
			else if (/\b(error|warn)\b/.test(line))
				problems.push(line);
		},
	});
	device.setScene(scene);
	let stopped = false;
	device.on("exit", () => (stopped = true));
	const online = new Promise<void>((resolve) => {
		let paired = false;
		device.on("status", (status: { state: string }) => {
			if (!paired && (status.state !== "booting")) {
				paired = true;
				labelOf(device, flashPath).then((label) => device.pair(identity, label)).then((reply) => rememberDevice(identity, reply)).catch((error: Error) => problems.push(`pairing: ${error.message}`));
			}
			if (status.state === "online")
				resolve();
		});
	});

	/** Rings `count` times, then waits until no event has come for 3 s, then for a memory report taken after that. */
	async function ring(count: number): Promise<Memory> {
		for (let press = 0; (press < count) && !stopped; press++) {
			const before = received;
			device.press();
			for (let waited = 0; (received < before + 2) && !stopped && (waited < 20000); waited += 50)
				await sleep(50);
			await sleep(interval);
			if (((press + 1) % 100) === 0)
				process.stderr.write(`soak: ${press + 1} of ${count} rings, ${received} events at the phone, last report ${memory?.chunks} chunk bytes, ${memory?.slots} slots\n`);
		}
		while (!stopped && (Date.now() - lastEventAt < 3000))
			await sleep(250);
		const after = Date.now();
		while (!stopped && (memoryAt <= after))
			await sleep(100);
		if (stopped)
			throw new Error("the device stopped");
		return memory!;
	}

	const say = (line: string) => process.stdout.write(`${line}\n`);
	const show = (what: string, at: Memory) => say(`${what}: ${at.chunks} chunk bytes, ${at.slots} slots (after a collection)`);
	try {
		await Promise.race([online, sleep(60000).then(() => { throw new Error("the device did not come online in 60 s"); })]);
		await sleep(1000); // pairing
		const started = Date.now();
		const start = await ring(warmup);
		show(`start, after ${warmup} warm-up rings (${received} events at the phone)`, start);
		const before = received;
		const end = await ring(events);
		const delivered = received - before;
		show(`end, after ${events} more rings (${delivered} events at the phone)`, end);
		const growth = { chunks: end.chunks - start.chunks, slots: end.slots - start.slots };
		say(`growth over ${events} rings: ${growth.chunks} chunk bytes, ${growth.slots} slots; events by kind: ${[...kinds].map(([kind, n]) => `${kind} ${n}`).join(", ")}; ${((Date.now() - started) / 1000).toFixed(0)} s`);
		if (problems.length)
			say(`device warnings and errors (${problems.length}), first: ${problems.slice(0, 3).join(" | ")}`);
		// Every ring is two events: its notification and its clip.
		const short = delivered < 2 * events;
		if (short)
			say(`only ${delivered} events reached the phone for ${events} rings (${2 * events} expected)`);
		return ((growth.chunks > 0) || (growth.slots > 0) || short) ? 1 : 0;
	}
	finally {
		device.removeAllListeners("exit");
		await device.powerOff();
		await phone.close();
		await broker.close();
		rmSync(out, { recursive: true, force: true });
	}
}

main().then((code) => process.exit(code), (error: Error) => {
	process.stderr.write(`soak: ${error.message}\n`);
	process.exit(1);
});
