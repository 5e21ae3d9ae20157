// A tiny line chart on a canvas: a rolling window of points, y scaled to the largest value shown.
const PAD = { left: 44, right: 8, top: 8, bottom: 18 };
// The x axis spans at least this many points, so the first few do not stretch across the chart.
const MIN_SPAN = 30;

export class LineChart {
  constructor(canvas, series, format, windowPoints = 120) {
    this.canvas = canvas;
    this.series = series; // [{ key, color, label }]
    this.format = format;
    this.windowPoints = windowPoints;
    this.points = [];
  }

  setHistory(points) {
    this.points = points.slice(-this.windowPoints);
    this.draw();
  }

  push(point) {
    this.points.push(point);
    if (this.points.length > this.windowPoints) this.points.shift();
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    g.clearRect(0, 0, width, height);
    let max = 0;
    for (const p of this.points) for (const s of this.series) max = Math.max(max, p[s.key] ?? 0);
    max = niceCeiling(max);
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#8b949e';
    g.strokeStyle = '#30363d';
    g.lineWidth = 1;
    for (const f of [0, 0.5, 1]) {
      const y = PAD.top + plotH * (1 - f) + 0.5;
      g.beginPath();
      g.moveTo(PAD.left, y);
      g.lineTo(width - PAD.right, y);
      g.stroke();
      g.fillText(this.format(max * f), 2, y + 4);
    }
    const n = this.points.length;
    if (n > 1) {
      const seconds = Math.round((this.points[n - 1].atMs - this.points[0].atMs) / 1000);
      g.fillText(`−${seconds}s`, PAD.left, height - 4);
      g.fillText('now', width - PAD.right - 22, height - 4);
    }
    const step = plotW / Math.max(MIN_SPAN, n - 1);
    const x0 = PAD.left + plotW - step * (n - 1);
    g.lineWidth = 2;
    for (const s of this.series) {
      g.strokeStyle = s.color;
      g.beginPath();
      let drawing = false;
      this.points.forEach((p, i) => {
        const v = p[s.key];
        if (v === null || v === undefined) {
          drawing = false;
          return;
        }
        const x = x0 + step * i;
        const y = PAD.top + plotH * (1 - (max === 0 ? 0 : v / max));
        if (drawing) g.lineTo(x, y);
        else g.moveTo(x, y);
        drawing = true;
      });
      g.stroke();
    }
    // What the tests and a curious operator can read without decoding pixels.
    canvas.dataset.points = String(n);
    const last = this.points[n - 1];
    for (const s of this.series) canvas.dataset[s.key] = String(last?.[s.key] ?? '');
  }
}

function niceCeiling(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) if (value <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}
