/*
 * The device's update service: bundles from the update channel into the
 * inactive slot (Installer), the trusted root in the `doorward` partition,
 * and the self-test of an image booted on trial: a connection to the broker
 * (MQTT CONNACK; over TLS on the device) within a bounded time confirms it;
 * otherwise the device resets and the boot stage rolls back.
 */
import Flash from "flash";
import Timer from "timer";
import { activate, bootState, confirm, hardwareModel, onBundle, report as reportToDeliverer, restart } from "hardware/ota";
import { now } from "hardware/clock";
import { log } from "device/log";
import { firmwareVersion } from "device/version";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { readRecord, writeRecord } from "store/record";
import { Sectors } from "store/layout";
import { formatVersionString, parseSignedRoot } from "./format";
import type { Root } from "./format";
import { Installer, describe, reasonOf } from "./installer";
import type { BundleSink } from "./delivery";

/** The trusted root (a signed root file), set once at the factory. */
const rootSector = Sectors.updateRoot;

export function trustedRoot(flash: FlashRegion): Root | undefined {
	const stored = readRecord(flash, rootSector);
	return stored ? parseSignedRoot(stored).value : undefined;
}

/** The factory's first root, over the local channel; refused once one is set. */
export function installFactoryRoot(flash: FlashRegion, bytes: Uint8Array): Root {
	if (readRecord(flash, rootSector))
		throw new Error("update: a trusted root is already set; it changes only through a signed rotation");
	const root = parseSignedRoot(bytes).value;
	writeRecord(flash, rootSector, bytes);
	return root;
}

const version = formatVersionString(firmwareVersion);

/**
 * The slot an update is written to. The device's flash module opens app
 * slots only by role ("nextota": esp_ota_get_next_update_partition), never by
 * label; it is the partition bootState() calls inactive, and the one
 * activate() is then given by label.
 */
function openInactiveSlot(label: string): FlashRegion {
	try {
		return flashRegion(new Flash("nextota"));
	}
	catch (error) {
		throw new Error(`update: cannot open the inactive slot ${label} (flash "nextota"): ${(error as Error).message}`);
	}
}

type Outcome = Record<string, string | number | boolean>;

// Outcomes go to whoever delivered the bundle, and to the owner as sealed
// events once the pipeline is up; those from before it are held until then.
let outcomeListener: ((outcome: Outcome) => void) | undefined;
const early: Outcome[] = [];

function report(outcome: Outcome): void {
	reportToDeliverer(outcome);
	if (outcomeListener)
		outcomeListener(outcome);
	else
		early.push(outcome);
}

/** Receives every update outcome from now on, and those that came before. */
export function onOutcome(listener: (outcome: Outcome) => void): void {
	outcomeListener = listener;
	for (const outcome of early.splice(0))
		listener(outcome);
}

/** Installs bundles, from the platform's channel and from any other the caller feeds into the returned sink. */
export function serveUpdates(flash: FlashRegion, deviceId: string): BundleSink {
	const state = bootState();
	let installer: Installer | undefined;
	let failed = false;
	const refused = (error: unknown) => {
		failed = true;
		installer = undefined;
		log.warn(`update refused: ${(error as Error).message}`);
		// The message too: the owner reads why (a slot that cannot be opened is no fault of the bundle).
		report({ outcome: "refused", reason: reasonOf(error), detail: (error as Error).message, version });
	};
	const sink: BundleSink = {
		chunk(bytes) {
			if (failed)
				return;
			try {
				if (!installer) {
					if (bootState().trial)
						throw new Error("update: the running image is on trial; it must confirm itself first");
					const root = trustedRoot(flash);
					if (!root)
						throw new Error("update: no trusted root");
					installer = new Installer({ root, model: hardwareModel, deviceId, firmwareVersion, securityVersion: bootState().securityVersion, now: now() }, openInactiveSlot(state.inactive));
				}
				installer.push(bytes);
			}
			catch (error) {
				refused(error);
			}
		},
		end() {
			const current = installer;
			installer = undefined;
			if (failed || !current) {
				if (!failed)
					refused(new Error("update: an empty bundle"));
				failed = false;
				return;
			}
			try {
				const { manifest } = current.finish();
				activate(state.inactive, manifest.imageSize, manifest.imageDigest, manifest.securityVersion);
				log.info(`update ${describe(manifest)} installed in ${state.inactive}: restarting into it`);
				report({ outcome: "installed", version, installed: formatVersionString(manifest.version), slot: state.inactive });
				Timer.set(() => restart(), 50);
			}
			catch (error) {
				refused(error);
				failed = false;
			}
		},
	};
	onBundle(sink);
	return sink;
}

/**
 * Starts the self-test if this boot is on trial; returns what to call when
 * the broker acknowledges the connection. Reports the boot's outcome.
 */
export function selfTest(seconds: number): () => void {
	const state = bootState();
	log.info(`firmware ${version} running from ${state.running}${state.trial ? ", on trial" : ""}${state.rolledBack ? ", rolled back" : ""}`);
	if (state.rolledBack)
		report({ outcome: "rolled-back", version, slot: state.running });
	if (!state.trial)
		return () => {};
	report({ outcome: "trial", version, slot: state.running });
	let timer: ReturnType<typeof Timer.set> | undefined = Timer.set(() => {
		timer = undefined;
		log.error(`self-test failed: no broker connection within ${seconds} s: restarting to roll back`);
		report({ outcome: "self-test-failed", version, slot: state.running });
		Timer.set(() => restart(), 50);
	}, seconds * 1000);
	return () => {
		if (!timer)
			return;
		Timer.clear(timer);
		timer = undefined;
		confirm();
		log.info(`self-test passed: firmware ${version} confirmed in ${state.running}, security version ${bootState().securityVersion}`);
		report({ outcome: "confirmed", version, slot: state.running, securityVersion: bootState().securityVersion });
	};
}
