/*
 * The firmware's MQTT client (on XS) against two real brokers: aedes, in
 * this process, and mosquitto, the Debian binary, each on a free loopback
 * port. The scenarios are tests/xs/mqtt-scenarios.ts.
 */
import { test } from "node:test";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { Aedes } from "aedes";
import { runXsModule } from "../support/xs-run.js";
import { mosquittoBinary, startMosquitto } from "../support/mosquitto.js";

test("the Paho scenarios against aedes", async (t) => {
	const aedes = await Aedes.createBroker();
	const server = createServer(aedes.handle);
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	try {
		await runXsModule(t, "tests/mqtt-scenarios", [String((server.address() as AddressInfo).port)]);
	}
	finally {
		await new Promise((resolve) => server.close(resolve));
		await new Promise<void>((resolve) => aedes.close(() => resolve()));
	}
});

test("the Paho scenarios against mosquitto", { skip: mosquittoBinary ? false : "mosquitto is not installed (Debian package mosquitto); not run" }, async (t) => {
	const broker = await startMosquitto(["allow_anonymous true", "persistence false", "sys_interval 1"]);
	try {
		await runXsModule(t, "tests/mqtt-scenarios", [String(broker.port)]);
	}
	finally {
		await broker.stop();
	}
});
