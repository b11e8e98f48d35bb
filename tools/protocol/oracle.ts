/*
 * Drives the crypto oracle (tests/xs/oracle.ts): starts the XS simulator host with the firmware
 * and test modules, and sends it requests over the bridge.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { simulatorBuild, projectRoot } from "../build/firmware.js";
import { deviceSecretFor } from "../sim/world.js";
import { ToDevice, ToWorld } from "../../hardware/sim/bridge/messages.js";

export type Reply = Record<string, unknown> & { ok: boolean; error?: string };

/** ../shared beside the repository, where CI puts it; undefined when absent. */
export function sharedFolder(): string | undefined {
	const folder = join(projectRoot, "..", "shared");
	return existsSync(folder) ? folder : undefined;
}

export class XsOracle {
	#process: ChildProcess;
	#bridge: Duplex;
	#input = Buffer.alloc(0);
	#pending = new Map<number, (reply: Reply) => void>();
	#next = 1;
	#exited = false;
	stderr = "";

	constructor() {
		const build = simulatorBuild();
		const flash = join(mkdtempSync(join(tmpdir(), "doorward-oracle-")), "flash.bin");
		this.#process = spawn(build.host, [
			"--modules", build.testModuleMap, "--main", "tests/oracle", "--bridge", "3",
			"--flash", flash, "--partitions", build.partitions, "--device-secret", deviceSecretFor(flash),
		], { stdio: ["ignore", "ignore", "pipe", "pipe"] });
		this.#process.stderr!.on("data", (chunk) => (this.stderr += chunk));
		this.#bridge = this.#process.stdio[3] as Duplex;
		this.#bridge.on("data", (chunk: Buffer) => this.#receive(chunk));
		this.#process.on("exit", () => {
			this.#exited = true;
			for (const resolve of this.#pending.values())
				resolve({ ok: false, error: `the XS host exited: ${this.stderr.trim().split("\n").pop()}` });
			this.#pending.clear();
		});
	}

	request(fields: Record<string, unknown>, attachment: Uint8Array = new Uint8Array(0)): Promise<Reply> {
		const id = this.#next++;
		const json = Buffer.from(JSON.stringify({ ...fields, id }));
		const payload = Buffer.concat([Buffer.alloc(4), json, attachment]);
		payload.writeUInt32BE(json.length, 0);
		const header = Buffer.alloc(5);
		header.writeUInt32BE(payload.length + 1, 0);
		header[4] = ToDevice.OracleRequest;
		return new Promise((resolve) => {
			if (this.#exited) {
				resolve({ ok: false, error: `the XS host has exited: ${this.stderr.trim().split("\n").pop()}` });
				return;
			}
			this.#pending.set(id, resolve);
			this.#bridge.write(Buffer.concat([header, payload]));
		});
	}

	#receive(chunk: Buffer): void {
		this.#input = Buffer.concat([this.#input, chunk]);
		while (this.#input.length >= 5) {
			const length = this.#input.readUInt32BE(0);
			if (this.#input.length < 4 + length)
				break;
			const type = this.#input[4];
			const payload = this.#input.subarray(5, 4 + length);
			this.#input = this.#input.subarray(4 + length);
			if (type !== ToWorld.OracleReply)
				continue;
			const jsonLength = payload.readUInt32BE(0);
			const reply = JSON.parse(payload.subarray(4, 4 + jsonLength).toString("utf8")) as Reply & { id: number };
			this.#pending.get(reply.id)?.(reply);
			this.#pending.delete(reply.id);
		}
	}

	async close(): Promise<void> {
		this.#bridge.destroy();
		await new Promise((resolve) => this.#process.once("exit", resolve).kill());
	}
}
