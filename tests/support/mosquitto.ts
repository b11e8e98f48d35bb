/*
 * mosquitto (the Debian binary) for tests: started on a free loopback port
 * with the given configuration lines, stopped by the test.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./wait.js";

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
export async function startMosquitto(config: string[], fixedPort?: number): Promise<{ port: number; process: ChildProcess; log: () => string; stop: () => Promise<void> }> {
	const port = fixedPort ?? await freePort();
	const folder = mkdtempSync(join(tmpdir(), "doorward-mosquitto-"));
	const file = join(folder, "mosquitto.conf");
	// As root (CI), mosquitto drops to its own user, which cannot read the
	// test's private temporary files; stay as the caller instead.
	const user = (process.getuid?.() === 0) ? ["user root"] : [];
	writeFileSync(file, [`listener ${port} 127.0.0.1`, ...user, ...config, ""].join("\n"));
	let log = "";
	const child = spawn(mosquittoBinary!, ["-c", file], { stdio: ["ignore", "pipe", "pipe"] });
	child.stdout!.on("data", (chunk) => (log += chunk));
	child.stderr!.on("data", (chunk) => (log += chunk));
	try {
		await waitFor(`mosquitto on ${port}`, () => {
			if (child.exitCode !== null)
				throw new Error(`mosquitto exited: ${log}`);
			return /mosquitto version .* running/.test(log) ? true : undefined;
		}, 10000);
	}
	catch (error) {
		child.kill();
		throw new Error(`${(error as Error).message}\n${log}`);
	}
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

