/**
 * The edit region on the "before" picture: drawn by dragging (a new box) or moved by dragging inside it,
 * and from the keyboard on the focused box (arrow keys move it by one token cell, Shift + arrow keys move
 * its bottom/right edge). Pointer boxes snap to the last patch grid, the cells `editMask` uses; the four
 * number fields show (and set) the box as fractions of the side, as the CLI's `--box y0,x0,y1,x1`.
 */
export type Box = [number, number, number, number];

/** Python's round (halves to even), as core's editMask rounds box edges onto the grid. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

/** The grid cells [r0, r1) × [c0, c1) a box covers, as editMask computes them. */
export function boxCells(grid: number, b: Box): { r0: number; r1: number; c0: number; c1: number } {
  return {
    r0: roundHalfEven(b[0] * grid),
    c0: roundHalfEven(b[1] * grid),
    r1: roundHalfEven(b[2] * grid),
    c1: roundHalfEven(b[3] * grid),
  };
}

export interface BoxEditorParts {
  area: HTMLElement;
  box: HTMLElement;
  fields: [HTMLInputElement, HTMLInputElement, HTMLInputElement, HTMLInputElement];
  onChange?: (b: Box) => void;
}

export class BoxEditor {
  private grid = 8;
  private value: Box = [0.25, 0.25, 0.75, 0.75];

  constructor(private readonly parts: BoxEditorParts) {
    const { area, box, fields } = parts;
    area.addEventListener('pointerdown', (ev) => this.drag(ev));
    box.addEventListener('keydown', (ev) => this.key(ev));
    fields.forEach((f, i) =>
      f.addEventListener('change', () => {
        const v = f.valueAsNumber;
        if (!Number.isFinite(v)) return this.render();
        const next = [...this.value] as Box;
        next[i] = Math.min(1, Math.max(0, v));
        this.set(next);
      }),
    );
    this.render();
  }

  get box(): Box {
    return [...this.value] as Box;
  }

  /** The last patch grid of the current model (pointer and keys move in its cells). */
  setGrid(grid: number): void {
    this.grid = grid;
    this.render();
  }

  set(b: Box): void {
    this.value = b;
    this.render();
    this.parts.onChange?.(this.box);
  }

  /** The box as the CLI's --box value. */
  toString(): string {
    return this.value.map((v) => String(+v.toFixed(6))).join(',');
  }

  private cell = (v: number) => Math.round(v * this.grid) / this.grid;

  private key(ev: KeyboardEvent): void {
    const d: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
    };
    const step = d[ev.key];
    if (!step) return;
    ev.preventDefault();
    const [dy, dx] = step.map((s) => s / this.grid) as [number, number];
    let [y0, x0, y1, x1] = this.value;
    if (ev.shiftKey) {
      // Resize: the bottom/right edge, keeping at least one cell.
      y1 = Math.min(1, Math.max(y0 + 1 / this.grid, y1 + dy));
      x1 = Math.min(1, Math.max(x0 + 1 / this.grid, x1 + dx));
    } else {
      const my = Math.min(Math.max(dy, -y0), 1 - y1);
      const mx = Math.min(Math.max(dx, -x0), 1 - x1);
      [y0, y1, x0, x1] = [y0 + my, y1 + my, x0 + mx, x1 + mx];
    }
    this.set([y0, x0, y1, x1].map((v) => +v.toFixed(9)) as Box);
  }

  /** Pointer position as fractions of the picture, clamped to it. */
  private at(ev: PointerEvent): [number, number] {
    const r = this.parts.area.getBoundingClientRect();
    const clamp = (v: number) => Math.min(1, Math.max(0, v));
    return [clamp((ev.clientY - r.top) / r.height), clamp((ev.clientX - r.left) / r.width)];
  }

  private drag(ev: PointerEvent): void {
    if (ev.button !== 0) return;
    ev.preventDefault();
    const { area, box } = this.parts;
    area.setPointerCapture(ev.pointerId);
    box.focus({ preventScroll: true });
    const [py, px] = this.at(ev);
    const start = this.box;
    const inside = py >= start[0] && py <= start[2] && px >= start[1] && px <= start[3];
    const g = this.grid;
    const move = (e: PointerEvent) => {
      const [y, x] = this.at(e);
      if (inside) {
        const h = start[2] - start[0];
        const w = start[3] - start[1];
        const y0 = Math.min(Math.max(this.cell(start[0] + y - py), 0), 1 - h);
        const x0 = Math.min(Math.max(this.cell(start[1] + x - px), 0), 1 - w);
        this.set([y0, x0, y0 + h, x0 + w]);
      } else {
        // A new box over the cells between the press and the pointer, at least one cell.
        const r0 = Math.min(Math.floor(Math.min(py, y) * g), g - 1);
        const c0 = Math.min(Math.floor(Math.min(px, x) * g), g - 1);
        const r1 = Math.max(Math.ceil(Math.max(py, y) * g), r0 + 1);
        const c1 = Math.max(Math.ceil(Math.max(px, x) * g), c0 + 1);
        this.set([r0 / g, c0 / g, r1 / g, c1 / g]);
      }
    };
    if (!inside) move(ev);
    const up = () => {
      area.removeEventListener('pointermove', move);
      area.removeEventListener('pointerup', up);
      area.removeEventListener('pointercancel', up);
    };
    area.addEventListener('pointermove', move);
    area.addEventListener('pointerup', up);
    area.addEventListener('pointercancel', up);
  }

  private render(): void {
    const { box, fields } = this.parts;
    const g = this.grid;
    const { r0, r1, c0, c1 } = boxCells(g, this.value);
    // The overlay shows the cells editMask will use, not the raw fractions.
    Object.assign(box.style, {
      top: `${(r0 / g) * 100}%`,
      left: `${(c0 / g) * 100}%`,
      height: `${(Math.max(0, r1 - r0) / g) * 100}%`,
      width: `${(Math.max(0, c1 - c0) / g) * 100}%`,
    });
    box.setAttribute(
      'aria-label',
      `edit box: rows ${r0} to ${r1}, columns ${c0} to ${c1} of the ${g}×${g} token grid. Arrow keys move it, Shift and arrow keys resize it`,
    );
    this.value.forEach((v, i) => {
      if (document.activeElement !== fields[i] || fields[i].valueAsNumber !== v)
        fields[i].value = String(+v.toFixed(6));
    });
  }
}
