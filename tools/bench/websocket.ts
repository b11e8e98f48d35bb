/*
 * How long a broker takes to relay one message from a publisher on MQTT over
 * TCP (the device) to a subscriber on MQTT over WebSocket (the owner's app in
 * a browser): Debian's mosquitto (its `protocol websockets` listener) against
 * the embedded aedes with `ws` (tools/sim/broker.ts), with mosquitto's
 * TCP-to-TCP relay as the baseline. QoS 1, one message at a time, on
 * loopback; the time is from the publish call to the subscriber's message
 * event. docs/deploy/broker.md reports it.
 *
 *   node --import ./tools/setup/register.mjs build/node/tools/bench/websocket.js [--runs N]
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { startEmbeddedBroker } from "../sim/broker.js";

const sizes = [1024, 16 * 1024, 30 * 1024, 100 * 1024];

function freePort(): Promise<number> {
	return new Promise((resolve) => {
		const server = createServer();
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

async function relay(publisher: MqttClient, subscriber: MqttClient, size: number, runs: number): Promise<number[]> {
	const topic = `dw/${randomBytes(16).toString("hex")}/ev`;
	await subscriber.subscribeAsync(topic, { qos: 1 });
	const times: number[] = [];
	for (let run = 0; run < runs + 1; run++) {
		const payload = randomBytes(size);
		const arrived = new Promise<number>((resolve) => {
			const onMessage = (_topic: string, message: Buffer) => {
				if (message.equals(payload)) {
					subscriber.off("message", onMessage);
					resolve(performance.now());
				}
			};
			subscriber.on("message", onMessage);
		});
		const sent = performance.now();
		await publisher.publishAsync(topic, payload, { qos: 1 });
		const at = await arrived;
		if (run > 0) // the first warms up the connection
			times.push(at - sent);
	}
	return times;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const describe = (values: number[]) => `median ${median(values).toFixed(1)} ms (${Math.min(...values).toFixed(1)}..${Math.max(...values).toFixed(1)})`;

type Login = { username?: string; password?: string };

async function measure(name: string, tcpUrl: string, wsUrl: string | undefined, logins: { publisher: Login; subscriber: Login }, runs: number, print: (line: string) => void): Promise<void> {
	const publisher = await mqtt.connectAsync(tcpUrl, { ...logins.publisher, clientId: `bench-pub-${randomBytes(4).toString("hex")}` });
	const subscriber = await mqtt.connectAsync(wsUrl ?? tcpUrl, { ...logins.subscriber, clientId: `bench-sub-${randomBytes(4).toString("hex")}` });
	try {
		for (const size of sizes)
			print(`${name.padEnd(34)} ${String(size / 1024).padStart(4)} KiB: ${describe(await relay(publisher, subscriber, size, runs))}`);
	}
	finally {
		await publisher.endAsync(true);
		await subscriber.endAsync(true);
	}
}

async function main(): Promise<void> {
	const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
	const runs = Number(values.runs);
	const print = (line: string) => process.stdout.write(`${line}\n`);
	const binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((path) => existsSync(path));
	if (binary) {
		// `mosquitto -h` prints its version, and exits 3.
		const help = spawnSync(binary, ["-h"], { encoding: "utf8" });
		const version = /mosquitto version (\S+)/.exec(`${help.stdout}${help.stderr}`)?.[1] ?? "unknown";
		const folder = mkdtempSync(join(tmpdir(), "doorward-bench-ws-"));
		const tcp = await freePort();
		const ws = await freePort();
		const file = join(folder, "mosquitto.conf");
		// A throwaway broker on loopback: anonymous, no TLS (the relay is what is measured).
		writeFileSync(file, [...(process.getuid?.() === 0 ? ["user root"] : []), `listener ${tcp} 127.0.0.1`, `listener ${ws} 127.0.0.1`, "protocol websockets", "allow_anonymous true", ""].join("\n"));
		const child = spawn(binary, ["-c", file], { stdio: "ignore" });
		await new Promise((resolve) => setTimeout(resolve, 500));
		try {
			await measure(`mosquitto ${version} TCP -> TCP`, `mqtt://127.0.0.1:${tcp}`, undefined, { publisher: {}, subscriber: {} }, runs, print);
			await measure(`mosquitto ${version} TCP -> WebSocket`, `mqtt://127.0.0.1:${tcp}`, `ws://127.0.0.1:${ws}/mqtt`, { publisher: {}, subscriber: {} }, runs, print);
		}
		finally {
			child.kill();
			rmSync(folder, { recursive: true, force: true });
		}
	}
	else
		print("mosquitto is not installed: only aedes is measured");
	const broker = await startEmbeddedBroker(undefined, undefined, { webSocket: true });
	try {
		await measure("aedes + ws TCP -> WebSocket", broker.url, broker.webSocketUrl, { publisher: broker.device, subscriber: broker.phone }, runs, print);
	}
	finally {
		await broker.close();
	}
}

await main();
