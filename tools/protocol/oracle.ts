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
import { BridgeLink } from "../sim/bridge.js";

export type Reply = Record<string, unknown> & { ok: boolean; error?: string };

/** ../shared beside the repository, where CI puts it; undefined when absent. */
export function sharedFolder(): string | undefined {
	const folder = join(projectRoot, "..", "shared");
	return existsSync(folder) ? folder : undefined;
}

export class XsOracle {
	#process: ChildProcess;
	#bridge: BridgeLink;
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
		this.#bridge = new BridgeLink(this.#process.stdio[3] as Duplex, (type, payload) => this.#receive(type, payload));
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
		return new Promise((resolve) => {
			if (this.#exited) {
				resolve({ ok: false, error: `the XS host has exited: ${this.stderr.trim().split("\n").pop()}` });
				return;
			}
			this.#pending.set(id, resolve);
			this.#bridge.send(ToDevice.OracleRequest, payload);
		});
	}

	#receive(type: number, payload: Buffer): void {
		if (type !== ToWorld.OracleReply)
			return;
		const jsonLength = payload.readUInt32BE(0);
		const reply = JSON.parse(payload.subarray(4, 4 + jsonLength).toString("utf8")) as Reply & { id: number };
		this.#pending.get(reply.id)?.(reply);
		this.#pending.delete(reply.id);
	}

	async close(): Promise<void> {
		this.#bridge.close();
		await new Promise((resolve) => this.#process.once("exit", resolve).kill());
	}
}
