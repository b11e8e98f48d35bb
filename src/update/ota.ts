/*
 * The device's update service: bundles from the update channel into the
 * inactive slot (Installer), the trusted root in the `doorward` partition
 * (root-store: two copies; set at the factory, then changed only by signed
 * rotations, each stored before anything else of its bundle is acted on),
 * the time floor (device/time: no bundle while the clock is below it), and
 * the self-test of an image booted on trial: a connection to the broker
 * (MQTT CONNACK; over TLS on the device) within a bounded time confirms it;
 * otherwise the device resets and the boot stage rolls back.
 */
import Flash from "flash";
import Timer from "timer";
import { activate, bootState, confirm, hardwareModel, onBundle, report as reportToDeliverer, restart } from "hardware/ota";
import { now, ticks } from "hardware/clock";
import { log } from "device/log";
import { clockSynced, timeFloor } from "device/time";
import { firmwareVersion } from "device/version";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { refuse } from "./errors";
import { formatVersionString, parseSignedRoot } from "./format";
import type { Root } from "./format";
import { Installer, describe, reasonOf } from "./installer";
import { RefusalReports } from "./reports";
import type { Outcome } from "./reports";
import { installFirstRoot, loadRoot, storeRoot } from "./root-store";
import { verifyFirstRoot } from "./trust";
import type { BundleSink } from "./delivery";

/** The trusted root, or undefined on a device that was provisioned without one. */
export function trustedRoot(flash: FlashRegion): Root | undefined {
	return loadRoot(flash)?.root;
}

/**
 * The factory's root (a signed root file), on a device that is not locked
 * yet (device/tls-identity, and the simulator's configuration message):
 * signed by its own root keys, stored if the device has none, refused if it
 * trusts another. Once the device is locked nothing local reaches this.
 */
export function installFactoryRoot(flash: FlashRegion, bytes: Uint8Array): Root {
	loadRoot(flash);	// first, so that a stored root that fails (store/record) is refused before anything, never taken for absent
	verifyFirstRoot(parseSignedRoot(bytes));
	return installFirstRoot(flash, bytes);
}

/** What the status says about updates: the trusted root's version, or "none". */
export function updateStatus(flash: FlashRegion): { updateRoot: number | "none" } {
	return { updateRoot: trustedRoot(flash)?.version ?? "none" };
}

/** Refusals reach the owner at most once per this window, with a count (./reports). */
export const refusalWindowMinutes = 10;

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

const iso = (time: number) => new Date(time).toISOString();

const version = formatVersionString(firmwareVersion);

// Outcomes go to whoever delivered the bundle at once (a log line or a bridge
// message: no flash), and to the owner as sealed events once the pipeline is
// up, those from before it held until then. A sealed event takes a slot of
// flash, so refusals reach the owner coalesced (./reports).
let outcomeListener: ((outcome: Outcome) => void) | undefined;
const early: Outcome[] = [];
let refusals: RefusalReports | undefined;

function toOwner(outcome: Outcome): void {
	if (outcomeListener)
		outcomeListener(outcome);
	else
		early.push(outcome);
}

function report(outcome: Outcome): void {
	reportToDeliverer(outcome);
	refusals ??= new RefusalReports({
		windowMs: refusalWindowMinutes * 60000,
		ticks,
		later(callback, ms) {
			const timer = Timer.set(callback, ms);
			return () => Timer.clear(timer);
		},
		report: toOwner,
	});
	if (outcome.outcome === "refused")
		refusals.refused(outcome);
	else {
		refusals.flush();
		toOwner(outcome);
	}
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
	// A rotation the bundle's header carries, stored once verified: before any image byte is written.
	const keepRoot = (root: Root, bytes: Uint8Array) => {
		storeRoot(flash, bytes);
		log.info(`update root ${root.version} (${root.channel}) trusted: a signed rotation`);
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
						refuse("no-root", "this device has no trusted update root (it was provisioned without one), so it takes no update");
					if (!clockSynced())
						refuse("clock-not-set", `clock not set: it reads ${iso(now())}, before this device's time floor ${iso(timeFloor())}`);
					installer = new Installer({ root, model: hardwareModel, deviceId, firmwareVersion, securityVersion: bootState().securityVersion, now: now() }, openInactiveSlot(state.inactive), keepRoot);
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
