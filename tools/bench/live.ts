/*
 * `npm run bench:live`: the live view (docs/protocol/live.md), in one run:
 *
 * - request to first frame, frames per second and bytes per second at the
 *   phone, for sessions with the simulated device whose camera gives the
 *   scene at 30 fps (the published ESP32-S3 QVGA rate), on the embedded broker;
 * - the device's sealing cost per frame on XS (the padded plaintext, header,
 *   nonce and AES-256-GCM, as live/service seals it), against AES-256-GCM
 *   over the same padded bytes on Node (OpenSSL), measured in the same run;
 * - a projection for the ESP32-S3 from published cycle counts (cited below).
 *
 * Medians, with the spread [min-max]; the machine is shared, so ratios mean
 * more than milliseconds. Nothing here is asserted by a test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import { XsOracle } from "../protocol/oracle.js";
import { startEmbeddedBroker } from "../sim/broker.js";
import { SimulatedDevice, deviceSecretFor } from "../sim/world.js";
import type { DeviceStatus } from "../sim/world.js";
import { simulatorBuild } from "../build/firmware.js";
import { labelOf } from "../factory/label.js";
import { createPhone, rememberDevice } from "../phone/identity.js";
import { BUCKETS, sealReference } from "../phone/live.js";
import { liveScene, watchLive } from "../live/run.js";
import type { WatchResult } from "../live/run.js";

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values: readonly number[], digits = 1) => `${median(values).toFixed(digits)} [${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}]`;

function nodeGcm(padded: number, rounds: number): number {
	const key = randomBytes(32);
	const plaintext = randomBytes(padded);
	const header = Buffer.alloc(10);
	const started = process.hrtime.bigint();
	for (let i = 0; i < rounds; i++) {
		header.writeUInt32BE(i, 6);
		const nonce = Buffer.alloc(12);
		nonce.writeUInt32BE(i, 8);
		sealReference(key, nonce, header, plaintext);
	}
	return Number(process.hrtime.bigint() - started) / 1e6 / rounds;
}

/** Published ESP32-S3 figures the projection rests on (see docs/benchmarks.md for the sources). */
const esp32s3 = Object.freeze({
	cpuHz: 240e6,
	// espressif/esp-idf pull request 14314 (2024): mbedtls's gcm_mult() on the ESP32-S3, GCC 12.2 -O2: ~1200 cycles a 16-byte block, ~930 after the patch.
	ghashCyclesPerBlock: [930, 1200] as const,
	// Oryx-Embedded/CycloneCRYPTO issue 8 (2024): AES on the ESP32-S3's accelerator, 8 MB/s block by block, 21 MB/s with Espressif's DMA driver.
	aesBytesPerSecond: [21e6, 8e6] as const,
	// issue 14: published ESP32-S3 camera rates, QVGA JPEG about 30 fps, VGA 9-13.
	qvgaFps: 30,
	vgaFps: [9, 13] as const,
});

/** ms to seal `bytes` with AES-GCM on the ESP32-S3: GHASH in software, AES in hardware, one after the other (esp-idf issue 14452). */
function projectedGcmMs(bytes: number, best: boolean): number {
	const blocks = Math.ceil(bytes / 16);
	const ghash = blocks * esp32s3.ghashCyclesPerBlock[best ? 0 : 1] / esp32s3.cpuHz;
	const aes = bytes / esp32s3.aesBytesPerSecond[best ? 0 : 1];
	return (ghash + aes) * 1000;
}

async function sessions(): Promise<{ qvga: WatchResult[]; vga: WatchResult[]; dropped: number[] }> {
	const folder = mkdtempSync(join(tmpdir(), "doorward-bench-live-"));
	const broker = await startEmbeddedBroker();
	const flash = join(folder, "flash.bin");
	const log: string[] = [];
	const statuses: DeviceStatus[] = [];
	const device = new SimulatedDevice({
		build: simulatorBuild(), flashPath: flash, secretPath: deviceSecretFor(flash), onLog: (line) => log.push(line), scaleToCamera: true,
		configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "bench" },
	});
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	device.setScene({ ...liveScene(), fps: esp32s3.qvgaFps });
	const client = await mqtt.connectAsync(broker.url, { ...broker.phone, reconnectPeriod: 0 });
	try {
		const until = async (what: string, check: () => boolean) => {
			for (let waited = 0; !check(); waited += 50) {
				if (waited > 30000)
					throw new Error(`bench: no ${what} within 30 s`);
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
		};
		await until("boot", () => statuses.some((status) => status.state !== "booting"));
		const phone = createPhone("bench");
		const reply = await device.pair(phone, await labelOf(device, flash));
		rememberDevice(phone, reply);
		await until("connection", () => statuses.some((status) => status.state === "online"));
		await new Promise((resolve) => setTimeout(resolve, 1000));
		const qvga: WatchResult[] = [];
		const vga: WatchResult[] = [];
		// 4 sessions: the device's limit per minute.
		for (const size of ["qvga", "qvga", "qvga", "vga"] as const) {
			const result = await watchLive({ client, phone, deviceId: reply.deviceId!, seconds: 4, size });
			if (!result.accepted)
				throw new Error(`bench: the ${size} session was not accepted`);
			(size === "qvga" ? qvga : vga).push(result);
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		const dropped = log.map((line) => /ended \(limit\) after [\d.]+ s: (\d+) frames sent, (\d+) dropped/.exec(line)).filter((match) => match).map((match) => Number(match![2]));
		return { qvga, vga, dropped };
	}
	finally {
		await client.endAsync(true);
		await device.powerOff();
		await broker.close();
		rmSync(folder, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	const print = (line: string) => process.stdout.write(`${line}\n`);
	print(`bench:live ${new Date().toISOString()}`);
	const { qvga, vga, dropped } = await sessions();
	const bytesPerSecond = (result: WatchResult) => {
		const span = (result.frames[result.frames.length - 1].receivedAt - result.frames[0].receivedAt) / 1000;
		return result.frames.reduce((sum, frame) => sum + frame.bytes, 0) / span;
	};
	const latency = (results: WatchResult[]) => results.flatMap((result) => result.frames.map((frame) => frame.latencyMs));
	print(`sessions at QVGA (camera at ${esp32s3.qvgaFps} fps, 4 s each, ${qvga.length} runs):`);
	print(`  request to first frame: ${spread(qvga.map((result) => result.firstFrameMs!), 0)} ms`);
	print(`  frames per second at the phone: ${spread(qvga.map((result) => result.fps))}`);
	print(`  bytes per second at the phone (sealed, padded): ${spread(qvga.map((result) => bytesPerSecond(result) / 1000))} kB/s`);
	print(`  capture to phone, per frame: ${spread(latency(qvga), 0)} ms`);
	print(`  frames dropped at the device per session: ${spread(dropped.slice(0, qvga.length), 0)}`);
	print(`one session at VGA (scaled scene, same camera rate): first frame ${vga[0].firstFrameMs} ms, ${vga[0].fps.toFixed(1)} fps, ${(bytesPerSecond(vga[0]) / 1000).toFixed(0)} kB/s, dropped ${dropped[qvga.length] ?? "?"}`);

	// Sealing per frame: the scene's QVGA frames are 8.5-10.6 KB (bucket 12288); the scaled scene's VGA frames 35-45 KB (bucket 49152).
	const oracle = new XsOracle();
	try {
		for (const [name, size] of [["QVGA", 10000], ["VGA", 40000]] as const) {
			const xs: number[] = [];
			const xsGcm: number[] = [];
			const node: number[] = [];
			let padded = 0;
			for (let run = 0; run < 7; run++) {
				const sealed = await oracle.request({ op: "bench.liveSeal", size, rounds: 200 });
				if (!sealed.ok)
					throw new Error(String(sealed.error));
				xs.push(Number(sealed.msPerFrame));
				xsGcm.push(Number(sealed.msPerGcm));
				padded = Number(sealed.padded);
				node.push(nodeGcm(padded, 200));
			}
			if (!BUCKETS.includes(padded))
				throw new Error(`bench: ${padded} is not a bucket`);
			const ratio = median(xs) / median(node);
			print(`seal one ${name} frame (${size} B, padded to ${padded}): XS ${spread(xs, 3)} ms (of which the AES-GCM call ${median(xsGcm).toFixed(3)} ms); Node AES-256-GCM over ${padded} B ${spread(node, 4)} ms; XS / Node ${ratio.toFixed(1)}x`);
			const best = projectedGcmMs(padded, true);
			const worst = projectedGcmMs(padded, false);
			const fps = (name === "QVGA") ? [esp32s3.qvgaFps, esp32s3.qvgaFps] : esp32s3.vgaFps;
			print(`  ESP32-S3 projection (cited cycle counts, AES-GCM only): ${best.toFixed(1)}-${worst.toFixed(1)} ms a frame per watching phone; at ${fps[0] === fps[1] ? fps[0] : `${fps[0]}-${fps[1]}`} fps, ${(best * fps[0] / 10).toFixed(0)}-${(worst * fps[1] / 10).toFixed(0)}% of one core per phone`);
		}
	}
	finally {
		await oracle.close();
	}
}

await main();
