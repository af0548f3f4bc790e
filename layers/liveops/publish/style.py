# ruff: noqa: E501  (minified CSS)
"""The dashboard's one stylesheet, inlined in a <style> block whose hash the page's CSP allows."""

CSS = """\
:root{--bg:#fff;--fg:#1b1f24;--mute:#5b6570;--line:#d9dee3;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--s0:#0969da;--s1:#cf222e;--s2:#1a7f37;--s3:#8250df;--s4:#bc4c00;--s5:#57606a}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mute:#8d96a0;--line:#30363d;--card:#161b22;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--s0:#4493f8;--s1:#f85149;--s2:#3fb950;--s3:#a371f7;--s4:#db6d28;--s5:#8d96a0}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:12px}
h1{font-size:1.4rem;margin:.2rem 0}
h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:.95rem;margin:.6rem 0 .2rem}
a{color:var(--s0)}
.meta,.note{color:var(--mute);font-size:.85rem}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 10px}
.tile b{display:block;font-size:1.35rem}
.tile span{color:var(--mute);font-size:.8rem}
.tile small{display:block;color:var(--mute);font-size:.72rem;overflow-wrap:anywhere}
.grid2{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:10px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px}
figcaption{font-size:.85rem;font-weight:600}
.legend i{display:inline-block;width:10px;height:3px;margin:0 4px 3px 8px}
svg.chart{width:100%;height:auto;display:block}
.grid{stroke:var(--line);stroke-width:1}
.ax,.lb{fill:var(--mute);font-size:17px}
.lb{fill:var(--fg)}
.ln{fill:none;stroke-width:2.6}
.bar{fill:var(--s0)}
.s0{stroke:var(--s0);fill:var(--s0)}.s1{stroke:var(--s1);fill:var(--s1)}.s2{stroke:var(--s2);fill:var(--s2)}
.s3{stroke:var(--s3);fill:var(--s3)}.s4{stroke:var(--s4);fill:var(--s4)}.s5{stroke:var(--s5);fill:var(--s5)}
.ln.s0,.ln.s1,.ln.s2,.ln.s3,.ln.s4,.ln.s5{fill:none}
i.s0{background:var(--s0)}i.s1{background:var(--s1)}i.s2{background:var(--s2)}i.s3{background:var(--s3)}i.s4{background:var(--s4)}i.s5{background:var(--s5)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid var(--line);white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:10px;padding:0 7px;font-size:.75rem;font-weight:600;border:1px solid currentColor}
.sig{color:var(--s0)}.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.mute{color:var(--mute)}
"""
