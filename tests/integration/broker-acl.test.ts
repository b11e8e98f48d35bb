/*
 * docs/deploy/broker.md's mosquitto configuration, as written: TLS only,
 * client certificates whose CN is the user name, and the ACL. A second
 * device's certificate can neither read nor write the first device's topic;
 * a phone reads only the devices it is paired with.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { hasOpenssl, makePki } from "../support/pki.js";
import type { Pki } from "../support/pki.js";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { mosquittoBinary, startMosquitto } from "../support/mosquitto.js";

const skip = !mosquittoBinary ? "mosquitto is not installed (Debian package mosquitto); not run" : !hasOpenssl ? "openssl is not installed; not run" : false;

async function connect(pki: Pki, port: number, name: string): Promise<MqttClient> {
	return mqtt.connectAsync(`mqtts://localhost:${port}`, {
		clientId: `${name}-${randomBytes(3).toString("hex")}`,
		ca: readFileSync(pki.file("broker-ca.pem")),
		cert: readFileSync(pki.file(`${name}.pem`)),
		key: readFileSync(pki.file(`${name}.key`)),
		reconnectPeriod: 0,
		rejectUnauthorized: true,
	});
}

test("the deployment ACL: devices write only their topic, phones read only their devices'", { skip }, async () => {
	const first = randomBytes(16).toString("hex");
	const second = randomBytes(16).toString("hex");
	const owner = `phone-${randomBytes(8).toString("hex")}`;
	const pki = makePki([first, second, owner]);
	const broker = await startMosquitto([...pki.brokerConfig(`pattern write dw/%u/ev\n\nuser ${owner}\ntopic read dw/${first}/ev\n`), "persistence false"]);
	const clients: MqttClient[] = [];
	try {
		const phone = await connect(pki, broker.port, owner);
		clients.push(phone);
		const got: string[] = [];
		phone.on("message", (topic, payload) => got.push(`${topic} ${payload.toString()}`));
		// mosquitto may grant a SUBSCRIBE that its ACL does not let read, and
		// then delivers nothing on it: what is checked is what arrives.
		await phone.subscribeAsync(`dw/${first}/ev`, { qos: 1 });
		await phone.subscribeAsync(`dw/${second}/ev`, { qos: 1 });
		await phone.subscribeAsync("dw/+/ev", { qos: 1 });

		const intruder = await connect(pki, broker.port, second);
		clients.push(intruder);
		const stolen: string[] = [];
		intruder.on("message", (topic, payload) => stolen.push(`${topic} ${payload.toString()}`));
		await intruder.subscribeAsync(`dw/${first}/ev`, { qos: 1 });
		await intruder.subscribeAsync("#", { qos: 1 });
		await intruder.publishAsync(`dw/${first}/ev`, "forged", { qos: 1 });
		await intruder.publishAsync(`dw/${second}/ev`, "own topic", { qos: 1 });

		const device = await connect(pki, broker.port, first);
		clients.push(device);
		await device.publishAsync(`dw/${first}/ev`, "genuine", { qos: 1 });
		await device.publishAsync(`dw/${second}/ev`, "into another's topic", { qos: 1 });
		await new Promise((resolve) => setTimeout(resolve, 500));
		assert.deepEqual(got, [`dw/${first}/ev genuine`], "the owner's phone got the first device's own event, once, and nothing else: no forgery, no other device's topic");
		assert.deepEqual(stolen, [], "the second device read nothing of the first's, nor anything at all");

		await assert.rejects(mqtt.connectAsync(`mqtts://localhost:${broker.port}`, { ca: readFileSync(pki.file("broker-ca.pem")), reconnectPeriod: 0, connectTimeout: 3000 }), "a client without a certificate is refused");
	}
	finally {
		for (const client of clients)
			await client.endAsync(true);
		await broker.stop();
	}
});
