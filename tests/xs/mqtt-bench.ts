/*
 * The firmware MQTT client's side of `npm run bench:mqtt`, on XS: QoS 1
 * publish throughput and publish-to-receive latency against the broker on
 * port host.argv[0]. Prints one "xs-info bench" line of JSON. Arrival is
 * timed in the message callback, not when the waiting loop notices it.
 */
import MqttClient from "mqtt/client";
import Timer from "timer";
import { ticks } from "hardware/clock";
import { bytes } from "hardware/random";
import { toHex } from "util/bytes";

const port = Number(host.argv[0]);
const count = Number(host.argv[1] ?? 2000);
const size = Number(host.argv[2] ?? 1024);
const pings = Number(host.argv[3] ?? 200);
const topic = `bench/${toHex(bytes(4))}`;

let acked = 0;
let received = 0;
let arrivedAt = 0;
let subscribed = false;
const client = new MqttClient({
	address: "127.0.0.1", port, clientId: `xs-bench-${toHex(bytes(3))}`, keepAliveSeconds: 30,
	onConnect: () => client.subscribe([{ filter: topic, qos: 1 }]),
	onSuback: () => { subscribed = true; },
	onPuback: () => { acked++; },
	onMessage: () => { received++; arrivedAt = ticks(); },
	onDisconnect: (reason) => { trace(`xs-info bench disconnected: ${reason}\n`); host.exit(1); },
});

function until(check: () => boolean): Promise<void> {
	return new Promise((resolve) => {
		const timer = Timer.repeat(() => {
			if (check()) {
				Timer.clear(timer);
				resolve();
			}
		}, 1);
	});
}

async function run(): Promise<void> {
	client.start();
	await until(() => subscribed);
	const payload = bytes(size);
	// Throughput: publish everything at QoS 1 (to a topic nobody reads), time until the last PUBACK.
	let started = ticks();
	for (let i = 0; i < count; i++)
		client.publish(`${topic}/sink`, payload, 1);
	await until(() => acked === count);
	const throughputMs = ticks() - started;
	// Latency: one message at a time, from publish to its delivery back to us.
	const latencies: number[] = [];
	for (let i = 0; i < pings; i++) {
		const before = received;
		started = ticks();
		client.publish(topic, payload.subarray(0, 64), 1);
		await until(() => received > before);
		latencies.push(arrivedAt - started);
	}
	latencies.sort((a, b) => a - b);
	trace(`xs-info bench ${JSON.stringify({ count, size, throughputMs, messagesPerSecond: count / (throughputMs / 1000), medianLatencyMs: latencies[Math.floor(latencies.length / 2)] })}\n`);
	client.stop();
	host.exit(0);
}

run();
