"""GLSL (1.20 / ES 2 dialect, what vispy gloo speaks) for the instanced card quads.

Each card is two instances of one unit quad in the same draw call: the poster (kind 0: rounded
corners, shadow, focus scale, flip, badges, placeholder → poster fade) and its title strip (kind 1,
sampled from the text atlas).
"""

VERTEX = """
attribute vec2 a_corner;
attribute vec4 a_rect;    // x, y, w, h in viewport pixels (y down), before scale
attribute vec4 a_uv;      // atlas rectangle u0, v0, u1, v1
attribute vec4 a_color;   // placeholder rgb, poster alpha (fade-in)
attribute vec4 a_state;   // scale, flip angle, watched, progress
attribute vec4 a_extra;   // kind, highlighted action, shadow strength, opacity

uniform vec2 u_viewport;
uniform float u_margin;

varying vec2 v_local;
varying vec2 v_half;
varying vec2 v_uv;
varying vec2 v_unit;
varying vec4 v_color;
varying vec4 v_state;
varying vec4 v_extra;

void main() {
    float poster = a_extra.x < 0.5 ? 1.0 : 0.0;
    float margin = u_margin * poster;
    vec2 half_size = a_rect.zw * 0.5;
    vec2 centre = a_rect.xy + half_size;
    vec2 local = (a_corner * 2.0 - 1.0) * (half_size + margin);
    v_local = local;
    v_half = half_size;
    v_unit = local / half_size * 0.5 + 0.5;
    v_uv = mix(a_uv.xy, a_uv.zw, v_unit);
    v_color = a_color;
    v_state = a_state;
    v_extra = a_extra;
    vec2 p = local * a_state.x;
    if (poster > 0.5) {
        float c = cos(a_state.y);
        float s = sin(a_state.y);
        // turn about the vertical axis; the edge coming towards the viewer grows a little
        p.x *= max(abs(c), 0.001);
        p.y *= 1.0 + 0.08 * abs(s) * sign(local.x) * sign(c) * -sign(s);
    }
    vec2 pos = centre + p;
    gl_Position = vec4(pos.x / u_viewport.x * 2.0 - 1.0, 1.0 - pos.y / u_viewport.y * 2.0,
                       0.0, 1.0);
}
"""

FRAGMENT = """
uniform sampler2D u_posters;
uniform sampler2D u_titles;
uniform sampler2D u_menu;
uniform float u_radius;
uniform float u_margin;
uniform float u_menu_rows;

varying vec2 v_local;
varying vec2 v_half;
varying vec2 v_uv;
varying vec2 v_unit;
varying vec4 v_color;
varying vec4 v_state;
varying vec4 v_extra;

float round_box(vec2 p, vec2 b, float r) {
    vec2 q = abs(p) - b + r;
    return length(max(q, 0.0)) + min(max(q.x, q.y), 0.0) - r;
}

void main() {
    float opacity = v_extra.w;
    if (v_extra.x > 0.5) {
        float a = texture2D(u_titles, v_uv).r;
        gl_FragColor = vec4(0.93, 0.94, 0.96, a * opacity);
        return;
    }
    float d = round_box(v_local, v_half, u_radius);
    float inside = clamp(0.5 - d, 0.0, 1.0);
    float sd = round_box(v_local - vec2(0.0, u_margin * 0.35), v_half, u_radius);
    float shadow = (1.0 - smoothstep(-u_margin * 0.4, u_margin * 0.9, sd)) * v_extra.z;
    vec3 col;
    if (cos(v_state.y) >= 0.0) {
        vec3 tex = texture2D(u_posters, v_uv).rgb;
        col = mix(v_color.rgb, tex, v_color.a);
        if (v_state.w > 0.0 && v_local.y > v_half.y - 5.0) {
            col = v_unit.x < v_state.w ? vec3(0.90, 0.62, 0.10) : mix(col, vec3(0.0), 0.65);
        }
        if (v_state.z > 0.5) {
            vec2 at = v_local - vec2(v_half.x - 15.0, -v_half.y + 15.0);
            float badge = clamp(10.5 - length(at), 0.0, 1.0);
            // a check mark: two strokes
            vec2 q = at;
            float s1 = abs(q.y - q.x - 1.5) < 1.6 && q.x > -4.5 && q.x < -0.8 ? 1.0 : 0.0;
            float s2 = abs(q.y + q.x * 1.4 - 1.5) < 1.8 && q.x >= -1.2 && q.x < 5.0 ? 1.0 : 0.0;
            vec3 mark = mix(vec3(0.16, 0.62, 0.34), vec3(1.0), max(s1, s2));
            col = mix(col, mark, badge);
        }
    } else {
        // the turn only narrows the quad (|cos|), it never mirrors it: sample as is
        vec2 m = v_unit;
        col = vec3(0.10, 0.11, 0.14);
        float row = floor(m.y * u_menu_rows) - 1.0;
        if (abs(row - v_extra.y) < 0.5) col = vec3(0.20, 0.38, 0.85);
        col = mix(col, vec3(1.0), texture2D(u_menu, m).r);
    }
    float alpha = max(inside, shadow * 0.6);
    vec3 rgb = inside > 0.0 ? col : vec3(0.0);
    gl_FragColor = vec4(rgb, alpha * opacity);
}
"""
