/*
 * docs/deploy/broker.md's mosquitto configuration, as written: TLS only,
 * client certificates whose CN is the user name, and the ACL. A second
 * device's certificate can neither read nor write the first device's topic;
 * a phone reads only the devices it is paired with.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { mosquittoBinary, startMosquitto } from "../support/mosquitto.js";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
const skip = !mosquittoBinary ? "mosquitto is not installed (Debian package mosquitto); not run" : !hasOpenssl ? "openssl is not installed; not run" : false;

function pki(folder: string, devices: string[], phones: string[]): void {
	const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: folder, stdio: "pipe" });
	const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
	openssl("req", "-x509", ...ec, "-days", "2", "-subj", "/CN=test clients CA", "-keyout", "clients-ca.key", "-out", "clients-ca.pem");
	openssl("req", "-x509", ...ec, "-days", "2", "-subj", "/CN=test broker CA", "-keyout", "broker-ca.key", "-out", "broker-ca.pem");
	writeFileSync(join(folder, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
	openssl("req", ...ec, "-subj", "/CN=broker", "-keyout", "broker.key", "-out", "broker.csr");
	openssl("x509", "-req", "-in", "broker.csr", "-CA", "broker-ca.pem", "-CAkey", "broker-ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "broker.pem");
	for (const name of [...devices, ...phones]) {
		openssl("req", ...ec, "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
		openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "clients-ca.pem", "-CAkey", "clients-ca.key", "-CAcreateserial", "-days", "2", "-out", `${name}.pem`);
	}
}

async function connect(folder: string, port: number, name: string): Promise<MqttClient> {
	return mqtt.connectAsync(`mqtts://localhost:${port}`, {
		clientId: `${name}-${randomBytes(3).toString("hex")}`,
		ca: readFileSync(join(folder, "broker-ca.pem")),
		cert: readFileSync(join(folder, `${name}.pem`)),
		key: readFileSync(join(folder, `${name}.key`)),
		reconnectPeriod: 0,
		rejectUnauthorized: true,
	});
}

test("the deployment ACL: devices write only their topic, phones read only their devices'", { skip }, async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-acl-"));
	const first = randomBytes(16).toString("hex");
	const second = randomBytes(16).toString("hex");
	const owner = `phone-${randomBytes(8).toString("hex")}`;
	pki(folder, [first, second], [owner]);
	writeFileSync(join(folder, "acl"), `pattern write dw/%u/ev\n\nuser ${owner}\ntopic read dw/${first}/ev\n`);
	const broker = await startMosquitto([
		`cafile ${join(folder, "clients-ca.pem")}`, `certfile ${join(folder, "broker.pem")}`, `keyfile ${join(folder, "broker.key")}`,
		"require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2",
		"allow_anonymous false", `acl_file ${join(folder, "acl")}`, "persistence false",
	]);
	const clients: MqttClient[] = [];
	try {
		const phone = await connect(folder, broker.port, owner);
		clients.push(phone);
		const got: string[] = [];
		phone.on("message", (topic, payload) => got.push(`${topic} ${payload.toString()}`));
		// mosquitto may grant a SUBSCRIBE that its ACL does not let read, and
		// then delivers nothing on it: what is checked is what arrives.
		await phone.subscribeAsync(`dw/${first}/ev`, { qos: 1 });
		await phone.subscribeAsync(`dw/${second}/ev`, { qos: 1 });
		await phone.subscribeAsync("dw/+/ev", { qos: 1 });

		const intruder = await connect(folder, broker.port, second);
		clients.push(intruder);
		const stolen: string[] = [];
		intruder.on("message", (topic, payload) => stolen.push(`${topic} ${payload.toString()}`));
		await intruder.subscribeAsync(`dw/${first}/ev`, { qos: 1 });
		await intruder.subscribeAsync("#", { qos: 1 });
		await intruder.publishAsync(`dw/${first}/ev`, "forged", { qos: 1 });
		await intruder.publishAsync(`dw/${second}/ev`, "own topic", { qos: 1 });

		const device = await connect(folder, broker.port, first);
		clients.push(device);
		await device.publishAsync(`dw/${first}/ev`, "genuine", { qos: 1 });
		await device.publishAsync(`dw/${second}/ev`, "into another's topic", { qos: 1 });
		await new Promise((resolve) => setTimeout(resolve, 500));
		assert.deepEqual(got, [`dw/${first}/ev genuine`], "the owner's phone got the first device's own event, once, and nothing else: no forgery, no other device's topic");
		assert.deepEqual(stolen, [], "the second device read nothing of the first's, nor anything at all");

		await assert.rejects(mqtt.connectAsync(`mqtts://localhost:${broker.port}`, { ca: readFileSync(join(folder, "broker-ca.pem")), reconnectPeriod: 0, connectTimeout: 3000 }), "a client without a certificate is refused");
	}
	finally {
		for (const client of clients)
			await client.endAsync(true);
		await broker.stop();
	}
});
