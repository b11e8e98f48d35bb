/*
 * The firmware's MQTT client (on XS) against two real brokers: aedes, in
 * this process, and mosquitto, the Debian binary, each on a free loopback
 * port. The scenarios are tests/xs/mqtt-scenarios.ts.
 */
import { test } from "node:test";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aedes } from "aedes";
import { runXsModule } from "../support/xs-run.js";
import { waitFor } from "../support/wait.js";

export const mosquittoBinary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((path) => existsSync(path));

export async function freePort(): Promise<number> {
	return new Promise((resolve) => {
		const server = createServer();
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** Starts mosquitto with `config` (a listener line is added); resolves once it accepts connections. */
export async function startMosquitto(config: string[]): Promise<{ port: number; process: ChildProcess; log: () => string; stop: () => Promise<void> }> {
	const port = await freePort();
	const folder = mkdtempSync(join(tmpdir(), "doorward-mosquitto-"));
	const file = join(folder, "mosquitto.conf");
	writeFileSync(file, [`listener ${port} 127.0.0.1`, ...config, ""].join("\n"));
	let log = "";
	const child = spawn(mosquittoBinary!, ["-c", file], { stdio: ["ignore", "pipe", "pipe"] });
	child.stdout!.on("data", (chunk) => (log += chunk));
	child.stderr!.on("data", (chunk) => (log += chunk));
	await waitFor(`mosquitto on ${port}`, () => /mosquitto version .* running|Opening ipv4 listen socket on port/.test(log) ? true : undefined, 10000);
	await new Promise((resolve) => setTimeout(resolve, 100));
	return {
		port, process: child, log: () => log,
		stop: () => new Promise<void>((resolve) => {
			if (child.exitCode !== null)
				return resolve();
			child.once("exit", () => resolve());
			child.kill("SIGTERM");
		}),
	};
}

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
