// Shapes the engine shares with storage. They mirror src/storage/ports.ts structurally (TypeScript
// compares shapes), because src/detections may not import storage: rules and the engine do no I/O.

export interface DetectionSetting {
  kind: "rule" | "pack";
  id: string;
  /** null: global; otherwise the source it applies to. */
  sourceId: string | null;
  enabled: boolean;
}

export interface RuleStateEntry {
  ruleId: string;
  key: string;
  value: string | null;
  counter: number;
  /** Sorted. */
  members: string[];
  expiresAtSecs: number | null;
}
