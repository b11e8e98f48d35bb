/*
 * The firmware's MQTT client against a real broker, inside the XS host:
 * the interoperability scenarios of Eclipse Paho's test suite, as they apply
 * to a 3.1.1 client. The broker's port is the first host argument; the
 * runner (tests/integration/mqtt-brokers.test.ts) starts aedes and mosquitto.
 */
import { test, equal, ok } from "tests/harness";
import MqttClient from "mqtt/client";
import type { ClientOptions } from "mqtt/client";
import type { IncomingPublish } from "mqtt/packet";
import Timer from "timer";
import { bytes } from "hardware/random";
import { toHex, utf8Decode, utf8Encode } from "util/bytes";

const port = Number(host.argv[0]);
const username = host.argv[1];
const password = host.argv[2];
const prefix = `paho/${toHex(bytes(4))}`;

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => Timer.set(() => resolve(), ms));
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
	for (let waited = 0; !check(); waited += 20) {
		if (waited > timeoutMs)
			throw new Error(`timed out waiting for ${what}`);
		await sleep(20);
	}
}

interface Probe {
	client: MqttClient;
	messages: IncomingPublish[];
	acks: Set<number>;
	subacks: Map<number, number[]>;
	unsubacks: Set<number>;
	connects: boolean[];
	disconnects: string[];
}

function probe(clientId: string, options: Partial<ClientOptions> = {}): Probe {
	const result: Probe = { client: undefined as unknown as MqttClient, messages: [], acks: new Set(), subacks: new Map(), unsubacks: new Set(), connects: [], disconnects: [] };
	result.client = new MqttClient({
		address: "127.0.0.1", port, clientId, keepAliveSeconds: 10,
		...(username ? { username, password } : {}),
		backoff: { initialMs: 50, maxMs: 200 },
		onConnect: (present) => result.connects.push(present),
		onDisconnect: (reason) => result.disconnects.push(reason),
		onPuback: (id) => result.acks.add(id),
		onSuback: (id, granted) => result.subacks.set(id, granted),
		onUnsuback: (id) => result.unsubacks.add(id),
		onMessage: (message) => result.messages.push(message),
		...options,
	});
	result.client.start();
	return result;
}

async function connected(p: Probe): Promise<void> {
	await until("CONNACK", () => p.client.connected);
}

async function subscribe(p: Probe, filter: string, qos: 0 | 1 = 1): Promise<number[]> {
	const id = p.client.subscribe([{ filter, qos }]);
	await until(`SUBACK for ${filter}`, () => p.subacks.has(id));
	return p.subacks.get(id)!;
}

async function publish(p: Probe, topic: string, text: string, qos: 0 | 1 = 1, retain = false): Promise<void> {
	const id = p.client.publish(topic, utf8Encode(text), qos, false, undefined, retain);
	if (qos)
		await until(`PUBACK for ${topic}`, () => p.acks.has(id));
}

const texts = (p: Probe, topic?: string) => p.messages.filter((m) => !topic || (m.topic === topic)).map((m) => utf8Decode(m.payload));

test("basic: QoS 0 and 1 round trip through the broker", async () => {
	const a = probe(`basic-${toHex(bytes(3))}`);
	await connected(a);
	equal((await subscribe(a, `${prefix}/basic/#`))[0], 1, "granted QoS");
	await publish(a, `${prefix}/basic/q0`, "zero", 0);
	await publish(a, `${prefix}/basic/q1`, "one", 1);
	await until("both messages", () => a.messages.length >= 2);
	equal(texts(a).sort().join(","), "one,zero", "payloads");
	a.client.stop();
});

test("retained: a new subscriber gets the retained message; an empty one clears it", async () => {
	const topic = `${prefix}/retained/x`;
	const a = probe(`ret-${toHex(bytes(3))}`);
	await connected(a);
	await publish(a, topic, "kept", 1, true);
	const b = probe(`ret2-${toHex(bytes(3))}`);
	await connected(b);
	await subscribe(b, topic);
	await until("the retained message", () => b.messages.length >= 1);
	ok(b.messages[0].retain, "delivered with the retain flag");
	equal(utf8Decode(b.messages[0].payload), "kept", "payload");
	await publish(a, topic, "", 1, true);
	const c = probe(`ret3-${toHex(bytes(3))}`);
	await connected(c);
	await subscribe(c, topic);
	await sleep(300);
	equal(c.messages.length, 0, "cleared");
	a.client.stop(); b.client.stop(); c.client.stop();
});

test("$ topics: a subscription to # does not match topics that start with $", async () => {
	const a = probe(`dollar-${toHex(bytes(3))}`);
	await connected(a);
	await subscribe(a, "#", 0);
	await sleep(1500); // mosquitto publishes $SYS every few seconds; aedes on connect
	ok(a.messages.every((m) => !m.topic.startsWith("$")), `no $ topic among ${a.messages.length} messages`);
	a.client.stop();
});

// §3.3.5 asks the broker for the highest QoS of the matching subscriptions;
// mosquitto does, aedes 1.2 delivers at QoS 0. What the client must do is
// take either, once or once per subscription.
test("overlapping subscriptions: the message arrives once, or once per subscription", async () => {
	const a = probe(`overlap-${toHex(bytes(3))}`);
	await connected(a);
	await subscribe(a, `${prefix}/overlap/#`, 0);
	await subscribe(a, `${prefix}/overlap/+`, 1);
	await publish(a, `${prefix}/overlap/x`, "both", 1);
	await until("the message", () => a.messages.length >= 1);
	await sleep(200);
	ok((a.messages.length === 1) || (a.messages.length === 2), `delivered once or once per subscription (${a.messages.length})`);
	ok(a.messages.every((m) => utf8Decode(m.payload) === "both"), "the payload");
	a.client.stop();
});

test("redelivery: a persistent session receives QoS 1 messages sent while it was away", async () => {
	const id = `persist-${toHex(bytes(3))}`;
	const topic = `${prefix}/persist/x`;
	let a = probe(id, { cleanSession: false });
	await connected(a);
	await subscribe(a, topic, 1);
	a.client.stop();
	const b = probe(`sender-${toHex(bytes(3))}`);
	await connected(b);
	await publish(b, topic, "while away", 1);
	a = probe(id, { cleanSession: false });
	await connected(a);
	ok(a.connects[0] === true, "the broker kept the session");
	await until("the queued message", () => a.messages.length >= 1);
	equal(utf8Decode(a.messages[0].payload), "while away", "payload");
	// Clean up the session on the broker.
	a.client.stop();
	const clean = probe(id, { cleanSession: true });
	await connected(clean);
	clean.client.stop();
	b.client.stop();
});

test("zero-length client id: accepted with a clean session", async () => {
	const a = probe("", { cleanSession: true });
	await connected(a);
	await publish(a, `${prefix}/anonymous`, "hello", 1);
	a.client.stop();
});

test("unsubscribe: after UNSUBACK nothing more arrives", async () => {
	const topic = `${prefix}/unsub/x`;
	const a = probe(`unsub-${toHex(bytes(3))}`);
	await connected(a);
	await subscribe(a, topic, 1);
	await publish(a, topic, "first", 1);
	await until("the first message", () => a.messages.length >= 1);
	const id = a.client.unsubscribe([topic]);
	await until("UNSUBACK", () => a.unsubacks.has(id));
	await publish(a, topic, "second", 1);
	await sleep(300);
	equal(texts(a).join(","), "first", "only the first");
	a.client.stop();
});
