/*
 * `npm run bench:mqtt`: the firmware's MQTT client on XS against the `mqtt`
 * npm client on Node, both publishing to the same mosquitto in the same run:
 * QoS 1 throughput (1 KiB messages) and publish-to-receive latency, and the
 * ratios. Medians of three runs each.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import { simulatorBuild } from "../build/firmware.js";

const count = 2000;
const size = 1024;
const pings = 200;

async function freePort(): Promise<number> {
	return new Promise((resolve) => {
		const server = createServer();
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

function median(values: number[]): number {
	return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

async function nodeClient(port: number): Promise<{ messagesPerSecond: number; medianLatencyMs: number }> {
	const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `node-bench-${randomBytes(3).toString("hex")}`, reconnectPeriod: 0 });
	const topic = `bench/${randomBytes(4).toString("hex")}`;
	await client.subscribeAsync(topic, { qos: 1 });
	const payload = randomBytes(size);
	let started = performance.now();
	await Promise.all(Array.from({ length: count }, () => client.publishAsync(`${topic}/sink`, payload, { qos: 1 })));
	const throughputMs = performance.now() - started;
	const latencies: number[] = [];
	for (let i = 0; i < pings; i++) {
		const arrived = new Promise((resolve) => client.once("message", resolve));
		started = performance.now();
		await client.publishAsync(topic, payload.subarray(0, 64), { qos: 1 });
		await arrived;
		latencies.push(performance.now() - started);
	}
	await client.endAsync();
	return { messagesPerSecond: count / (throughputMs / 1000), medianLatencyMs: median(latencies) };
}

function xsClient(port: number): { messagesPerSecond: number; medianLatencyMs: number } {
	const build = simulatorBuild();
	const flash = join(mkdtempSync(join(tmpdir(), "doorward-bench-")), "flash.bin");
	const run = spawnSync(build.host, ["--modules", build.testModuleMap, "--main", "tests/mqtt-bench", "--flash", flash, "--partitions", build.partitions, "--", String(port), String(count), String(size), String(pings)], { encoding: "utf8", timeout: 120000 });
	const line = run.stderr.split("\n").find((text) => text.startsWith("xs-info bench {"));
	if (!line)
		throw new Error(`the XS client did not finish:\n${run.stderr}`);
	return JSON.parse(line.slice("xs-info bench ".length));
}

async function main(): Promise<void> {
	const binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((path) => existsSync(path));
	if (!binary)
		throw new Error("mosquitto is not installed (Debian package mosquitto)");
	const port = await freePort();
	const folder = mkdtempSync(join(tmpdir(), "doorward-bench-mosquitto-"));
	writeFileSync(join(folder, "mosquitto.conf"), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
	const broker = spawn(binary, ["-c", join(folder, "mosquitto.conf")], { stdio: "ignore" });
	await new Promise((resolve) => setTimeout(resolve, 500));
	try {
		const xs: { messagesPerSecond: number; medianLatencyMs: number }[] = [];
		const node: { messagesPerSecond: number; medianLatencyMs: number }[] = [];
		for (let run = 0; run < 3; run++) {
			xs.push(xsClient(port));
			node.push(await nodeClient(port));
		}
		const xsRate = median(xs.map((r) => r.messagesPerSecond));
		const nodeRate = median(node.map((r) => r.messagesPerSecond));
		const xsLatency = median(xs.map((r) => r.medianLatencyMs));
		const nodeLatency = median(node.map((r) => r.medianLatencyMs));
		process.stdout.write(`QoS 1 publish throughput, ${count} x ${size} B: XS firmware client ${xsRate.toFixed(0)} msg/s; mqtt.js on Node ${nodeRate.toFixed(0)} msg/s; ratio XS/Node ${(xsRate / nodeRate).toFixed(2)}\n`);
		process.stdout.write(`publish-to-receive latency, median of ${pings}: XS ${xsLatency.toFixed(2)} ms; Node ${nodeLatency.toFixed(2)} ms; ratio XS/Node ${(xsLatency / nodeLatency).toFixed(2)}\n`);
	}
	finally {
		broker.kill();
	}
}

await main();
