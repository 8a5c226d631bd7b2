// Validates Prometheus Operator objects against the operator's CRD schemas.
// stdin: a JSON array of objects; prints "KIND/NAME: problem" for each one that
// fails and exits 1, or prints the kinds it checked and exits 0.
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { readFileSync } from "node:fs";

const models = { PodMonitor, PrometheusRule, ServiceMonitor };
const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = false;
for (const obj of objects) {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  const Model = models[obj.kind];
  if (!Model || obj.apiVersion !== Model.apiVersion) {
    console.log(`${where}: no schema for ${obj.apiVersion} ${obj.kind}`);
    failed = true;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`${where}: valid`);
  } catch (error) {
    console.log(`${where}: ${error.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
