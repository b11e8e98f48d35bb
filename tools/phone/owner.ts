/*
 * `doorward remove` and `doorward invite`: an owner's phone sends its
 * device a signed request over MQTT (docs/protocol/requests.md), in the
 * simulator: the device whose flash is FILE is powered up on an embedded
 * broker, the phone publishes the request on the device's request topic and
 * waits for the audit entry that the change makes (docs/protocol/audit.md),
 * sealed to it like any event.
 *
 * The simulated network of a device is kept beside its flash, as
 * FILE.broker.json (the broker's port and credentials, mode 0600): the
 * device keeps the configuration it was first given, so the broker must come
 * back as it was. `doorward sim --flash FILE` uses the same file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import mqtt from "mqtt";
import { randomBytes } from "node:crypto";
import { startEmbeddedBroker } from "../sim/broker.js";
import type { BrokerSettings, EmbeddedBroker } from "../sim/broker.js";
import { SimulatedDevice, deviceSecretFor } from "../sim/world.js";
import type { DeviceStatus } from "../sim/world.js";
import { SimulatedPhone } from "../sim/phone.js";
import type { PhoneAuditEntry } from "./audit.js";
import { simulatorBuild } from "../build/firmware.js";
import { readLabel } from "../factory/label.js";
import { loadPhone, savePhone, PhoneFileError } from "./identity.js";
import type { PhoneIdentity } from "./identity.js";
import { Kind, phoneRequest, publishRequest, removalPayload, rolePayload } from "./requests.js";
import { invitationPayload, newInvitationCode, invitationMinutes } from "./invitation.js";

/** Where the simulator keeps the network of the device whose flash is `flashPath`. */
export function brokerFile(flashPath: string): string {
	return `${flashPath}.broker.json`;
}

/** The broker settings kept beside a flash; undefined before the first run. */
export function readBrokerSettings(flashPath: string): BrokerSettings | undefined {
	const file = brokerFile(flashPath);
	if (!existsSync(file))
		return undefined;
	const json = JSON.parse(readFileSync(file, "utf8")) as BrokerSettings;
	if (!Number.isInteger(json.port) || !json.device?.username || !json.phone?.username || !json.release?.username)
		throw new PhoneFileError(`${file}: not a simulated network's settings`);
	return json;
}

/** Starts the embedded broker as the device knows it (made now on first use) and keeps its settings. */
export async function brokerFor(flashPath: string): Promise<EmbeddedBroker> {
	const settings = readBrokerSettings(flashPath);
	let broker: EmbeddedBroker;
	try {
		broker = await startEmbeddedBroker(undefined, undefined, { settings });
	}
	catch (error) {
		throw new PhoneFileError(`the simulated network of ${flashPath} cannot listen on port ${settings?.port}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
	}
	if (!settings)
		writeFileSync(brokerFile(flashPath), `${JSON.stringify({ port: broker.port, device: broker.device, phone: broker.phone, release: broker.release }, null, "\t")}\n`, { mode: 0o600 });
	return broker;
}

interface OwnerSession {
	readonly phone: PhoneIdentity;
	readonly deviceId: string;
	send(kind: number, payload: Uint8Array): Promise<void>;
	/** Resolves with the first audit entry that `match` accepts, or rejects with the device's refusal. */
	entry(match: (entry: PhoneAuditEntry) => boolean, what: string): Promise<PhoneAuditEntry>;
}

/**
 * Powers up the device of `flash` online, with `phoneFile`'s phone listening
 * to it, runs `body`, and powers everything off again. The phone file is
 * saved as the phone's state changes (what it opened).
 */
async function withOwnerSession<T>(phoneFile: string, flash: string, say: (line: string) => void, body: (session: OwnerSession) => Promise<T>): Promise<T> {
	const file = resolve(phoneFile);
	const phone = loadPhone(file);
	const flashPath = resolve(flash);
	const label = readLabel(flashPath);
	if (!label)
		throw new PhoneFileError(`${flashPath}: no label beside it: not a simulated device (doorward label --flash ${flash})`);
	const paired = phone.devices[label.deviceId];
	if (!paired?.topicId)
		throw new PhoneFileError(`this phone has not paired with device ${label.deviceId}: pair it first`);
	const broker = await brokerFor(flashPath);
	const out = mkdtempSync(join(tmpdir(), "doorward-owner-"));
	const audit: PhoneAuditEntry[] = [];
	const refusals: string[] = [];
	let listener: () => void = () => {};
	const wake = () => listener();
	let phoneClient: SimulatedPhone | undefined;
	let device: SimulatedDevice | undefined;
	const requests = await mqtt.connectAsync(broker.url, { ...broker.phone, clientId: `owner-${randomBytes(6).toString("hex")}`, reconnectPeriod: 0 });
	try {
		phoneClient = await SimulatedPhone.connect({
			url: broker.url, identity: phone, file, credentials: broker.phone, topics: "paired", outDir: out,
			onEvent: () => {},
			onAudit: (entry) => {
				if (entry)
					audit.push(entry);
				wake();
			},
			onWarning: (line) => say(line),
		});
		const statuses: DeviceStatus[] = [];
		device = new SimulatedDevice({
			build: simulatorBuild(), flashPath, secretPath: deviceSecretFor(flashPath),
			configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "doorward-sim", hardwareRevision: "sim" },
			onLog: (line) => {
				if (/request refused/.test(line)) {
					refusals.push(line.replace(/^.*?request refused/, "request refused"));
					wake();
				}
			},
		});
		device.on("status", (status: DeviceStatus) => {
			statuses.push(status);
			wake();
		});
		const deviceRef = device;
		const until = <V>(what: string, check: () => V | undefined, timeoutMs: number): Promise<V> => new Promise((resolveWait, reject) => {
			const timer = setTimeout(() => reject(new PhoneFileError(`no answer from device ${label.deviceId}: ${what}`)), timeoutMs);
			listener = () => {
				let value: V | undefined;
				try {
					value = check();
				}
				catch (error) {
					clearTimeout(timer);
					listener = () => {};
					reject(error as Error);
					return;
				}
				if (value !== undefined) {
					clearTimeout(timer);
					listener = () => {};
					resolveWait(value);
				}
			};
			deviceRef.once("exit", () => reject(new PhoneFileError("the device stopped")));
			listener();
		});
		await until("it did not come online (its broker)", () => statuses.find((status) => status.state === "online"), 30000);
		// The device subscribes to its request topic on connecting; its SUBSCRIBE reaches the broker before the phone's request.
		await new Promise((resolveDelay) => setTimeout(resolveDelay, 500));
		return await body({
			phone,
			deviceId: label.deviceId,
			async send(kind, payload) {
				const { topic, sealed } = await phoneRequest(phone, label.deviceId, kind, payload);
				await publishRequest(requests, topic, sealed);
			},
			entry: (match, what) => until(what, () => {
				if (refusals.length)
					throw new PhoneFileError(`the device refused the request (its log: ${refusals[0]})`);
				return audit.find(match);
			}, 30000).catch((error: Error) => {
				throw (error instanceof PhoneFileError) ? error : new PhoneFileError(error.message);
			}),
		});
	}
	finally {
		listener = () => {};
		await device?.powerOff();
		await phoneClient?.close();
		await requests.endAsync(true);
		await broker.close();
		savePhone(file, phone);
		rmSync(out, { recursive: true, force: true });
	}
}

/** `doorward remove`: the owner's (or the phone's own) signed removal of the phone with that phone key fingerprint. */
export async function remove(phoneFile: string, flash: string, keyId: string, say: (line: string) => void): Promise<number> {
	const payload = removalPayload(keyId);
	return withOwnerSession(phoneFile, flash, say, async (session) => {
		await session.send(Kind.Remove, payload);
		const entry = await session.entry((found) => (found.type === "removed") && (found.details.phone === keyId), `no "removed" entry for phone ${keyId} arrived`);
		say(`removed: phone ${keyId} (${String(entry.details.name)}) from device ${session.deviceId}, audit entry ${entry.seq}`);
		return 0;
	});
}

/** `doorward role`: an owner's signed request that gives the phone with that phone key fingerprint a role (owner or member). */
export async function changeRole(phoneFile: string, flash: string, keyId: string, role: string, say: (line: string) => void): Promise<number> {
	const payload = rolePayload(keyId, role);
	return withOwnerSession(phoneFile, flash, say, async (session) => {
		await session.send(Kind.Role, payload);
		const entry = await session.entry((found) => (found.type === "role") && (found.details.phone === keyId) && (found.details.role === role), `no "role" entry for phone ${keyId} arrived`);
		say(`role: phone ${keyId} (${String(entry.details.name)}) is now ${role} on device ${session.deviceId}, audit entry ${entry.seq}`);
		return 0;
	});
}

/** `doorward invite`: a one-time code for a new phone; the device holds the verifier of it for invitationMinutes. */
export async function invite(phoneFile: string, flash: string, json: boolean, print: (line: string) => void, say: (line: string) => void): Promise<number> {
	return withOwnerSession(phoneFile, flash, say, async (session) => {
		const code = newInvitationCode();
		const time = Date.now();
		await session.send(Kind.Invite, invitationPayload(code));
		const entry = await session.entry((found) => (found.type === "window") && (found.details.reason === "invitation") && (found.time >= time - 60000), "no invitation window was opened");
		const expires = new Date(time + invitationMinutes * 60000).toISOString();
		if (json)
			print(JSON.stringify({ code, expires }));
		else
			print(`invitation code ${code} (expires ${expires}; audit entry ${entry.seq})`);
		return 0;
	});
}
