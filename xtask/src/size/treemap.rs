//! A squarified treemap of a module by source file, as SVG.

use crate::measure::thousands;

use super::attribution::Part;
use super::origins::PartKind;

/// A rectangle of the treemap, in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// The worst aspect ratio of a row of `areas` laid along a side of length `side`.
pub(super) fn worst(areas: &[f64], side: f64) -> f64 {
    let sum: f64 = areas.iter().sum();
    let (min, max) = areas.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &a| (lo.min(a), hi.max(a)));
    let s2 = side * side;
    (s2 * max / (sum * sum)).max(sum * sum / (s2 * min))
}

/// A squarified treemap (Bruls, Huizing and van Wijk, 2000) of `values` in
/// `bounds`: one rectangle per value, in the order given, of area
/// proportional to it; they tile `bounds`. Values ≤ 0 get an empty rectangle.
pub fn squarify(values: &[f64], bounds: Rect) -> Vec<Rect> {
    let mut out = vec![Rect { x: bounds.x, y: bounds.y, w: 0.0, h: 0.0 }; values.len()];
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i] > 0.0).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let total: f64 = order.iter().map(|&i| values[i]).sum();
    if total <= 0.0 || bounds.w <= 0.0 || bounds.h <= 0.0 {
        return out;
    }
    let scale = bounds.w * bounds.h / total;
    let areas: Vec<f64> = order.iter().map(|&i| values[i] * scale).collect();
    let mut free = bounds;
    let mut i = 0;
    while i < areas.len() {
        let side = free.w.min(free.h);
        let mut j = i + 1;
        while j < areas.len() && worst(&areas[i..=j], side) <= worst(&areas[i..j], side) {
            j += 1;
        }
        let row: f64 = areas[i..j].iter().sum();
        let last = j == areas.len();
        if free.w >= free.h {
            // A column on the left of the free space.
            let t = if last { free.w } else { row / free.h };
            let mut y = free.y;
            for k in i..j {
                let h = areas[k] / row * free.h;
                out[order[k]] = Rect { x: free.x, y, w: t, h };
                y += h;
            }
            free.x += t;
            free.w -= t;
        } else {
            // A row along the top.
            let t = if last { free.h } else { row / free.w };
            let mut x = free.x;
            for k in i..j {
                let w = areas[k] / row * free.w;
                out[order[k]] = Rect { x, y: free.y, w, h: t };
                x += w;
            }
            free.y += t;
            free.h -= t;
        }
        i = j;
    }
    out
}

/// `<`, `>`, `&` and quotes as XML entities.
pub(super) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `12345` → `"12.3 kB"` (kB = 1000 bytes).
pub(super) fn kb(bytes: u64) -> String {
    format!("{:.1} kB", bytes as f64 / 1000.0)
}

/// The fill of a part in the treemap.
pub(super) fn fill(kind: PartKind, rank: usize) -> String {
    let l = 48 + (rank % 4) * 6;
    match kind {
        PartKind::Xs => format!("hsl(210,50%,{l}%)"),
        PartKind::Port => format!("hsl(130,40%,{l}%)"),
        PartKind::Library => format!("hsl(30,70%,{l}%)"),
        PartKind::Generated => format!("hsl(280,30%,{l}%)"),
        PartKind::Structure => format!("hsl(0,0%,{}%)", 62 + (rank % 3) * 5),
    }
}

/// An SVG treemap of `parts` (labelled with name and size) under a title
/// line; the data bytes of a part are a lighter band at the bottom of its tile.
pub fn treemap_svg(title: &str, parts: &[Part]) -> String {
    let (width, height, top) = (1200.0, 760.0, 28.0);
    let values: Vec<f64> = parts.iter().map(|p| p.total() as f64).collect();
    let tiles = squarify(&values, Rect { x: 0.0, y: top, w: width, h: height - top });
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n"
    );
    svg.push_str(&format!("<text x=\"4\" y=\"18\" font-size=\"14\">{}</text>\n", xml_escape(title)));
    let total: u64 = parts.iter().map(Part::total).sum();
    for (rank, (p, r)) in parts.iter().zip(&tiles).enumerate() {
        if r.w <= 0.0 || r.h <= 0.0 {
            continue;
        }
        let share = if total == 0 { 0.0 } else { 100.0 * p.total() as f64 / total as f64 };
        let tip = format!("{}: {} bytes ({share:.1}%), code {}, data {}, other {}", p.label, thousands(p.total()), thousands(p.code), thousands(p.data), thousands(p.other));
        svg.push_str(&format!(
            "<g><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1\"/>",
            xml_escape(&tip),
            r.x,
            r.y,
            r.w,
            r.h,
            fill(p.kind, rank)
        ));
        if p.data > 0 && p.total() > 0 {
            // The data bytes: a lighter band along the bottom of the tile.
            let h = r.h * p.data as f64 / p.total() as f64;
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#fff\" fill-opacity=\"0.45\"/>",
                r.x + 0.5,
                r.y + r.h - h,
                (r.w - 1.0).max(0.0)
            ));
        }
        // About 6.2 units per character at font-size 11.
        let fits = ((r.w - 6.0) / 6.2).floor().max(0.0) as usize;
        if r.h >= 15.0 && fits >= 3 {
            let mut name: String = p.label.chars().take(fits).collect();
            if name.chars().count() < p.label.chars().count() {
                name.pop();
                name.push('…');
            }
            svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\">{}</text>", r.x + 3.0, r.y + 13.0, xml_escape(&name)));
            let size = kb(p.total());
            if r.h >= 29.0 && size.len() <= fits {
                svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\" fill-opacity=\"0.75\">{size}</text>", r.x + 3.0, r.y + 26.0));
            }
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}
