#!/usr/bin/env python3
"""PyTorch reference for `bench perf` (src/perf/): the same networks, the same
training step, the same JSON fields.

  ce-dcgan    the semantic-inpainting context encoder of Pathak et al. 2016
              (scaled by --size) and its discriminator on the centre; full
              joint-loss steps: discriminator step, then generator step with
              0.999 * L2 + 0.001 * adversarial, Adam.
  ce-alexnet  the feature-learning context encoder at 227 px: AlexNet
              conv1-pool5 (no LRN, no groups), channel-wise fully-connected
              layer, 1x1 conv, five 4x4/2 up-convolutions, bilinear resize
              (align_corners) to the input; L2 over the centre hole, Adam.
  ce-alexnet-small  the CIFAR-10 context encoder (experiments/cifar10.json's
              model: alexnet-small encoder at width 1/4, BatchNorm after each
              conv, 32 px): the same decoder and step as ce-alexnet.

The networks match src/models/dcgan.ts, src/models/context-encoder.ts,
src/models/encoders/alexnet-small.ts and src/perf/nets.ts layer for layer (params_G / params_D are equal; npm run bench
checks). ce-dcgan is identical to shared/bench/torch_reference.py.

Prints one JSON line: net, size, batch, backend, train_img_s, fwd_img_s, peak_rss_mb, ...

Runs with Debian's PyTorch:  apt-get install -y python3-torch
then:  /usr/bin/python3 bench/torch_reference.py --net ce-dcgan --size 64 --batch 16 --threads 1
"""
import argparse, json, math, resource, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def generator(size, nef=64, ngf=64, bottleneck=4000):
    """Encoder: 4x4/2 convs from `size` down to 4x4, then a 4x4 bottleneck conv.
    Decoder: 4x4 full conv to 4x4, then 4x4/2 up-convs to size/2 (the centre)."""
    layers, c, s, i = [], 3, size, 0
    while s > 4:
        out = min(nef * 2 ** max(i - 1, 0) if size >= 128 else nef * 2 ** i, nef * 8)
        layers.append(nn.Conv2d(c, out, 4, 2, 1, bias=False))
        if i > 0:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        c, s, i = out, s // 2, i + 1
    layers += [nn.Conv2d(c, bottleneck, 4, 1, 0, bias=False), nn.BatchNorm2d(bottleneck), nn.LeakyReLU(0.2, inplace=True)]
    ups = int(math.log2(size // 2 // 4))
    layers += [nn.ConvTranspose2d(bottleneck, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True)]
    c = ngf * 8
    for u in range(ups):
        last = u == ups - 1
        out = 3 if last else max(c // 2, ngf)
        layers.append(nn.ConvTranspose2d(c, out, 4, 2, 1, bias=False))
        layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU(True)]
        c = out
    return nn.Sequential(*layers)


def discriminator(size, ndf=64):
    layers, c, s, i = [], 3, size, 0
    while s > 4:
        out = min(ndf * 2 ** i, ndf * 8)
        layers.append(nn.Conv2d(c, out, 4, 2, 1, bias=False))
        if i > 0:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        c, s, i = out, s // 2, i + 1
    layers += [nn.Conv2d(c, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*layers)


class ChannelwiseDense(nn.Module):
    """Each of the m maps (n x n) gets its own dense n^2 x n^2 matrix plus bias."""

    def __init__(self, maps, area):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(maps, area, area) / math.sqrt(area))
        self.bias = nn.Parameter(torch.zeros(maps, 1, area))

    def forward(self, x):
        b, m, h, w = x.shape
        y = torch.baddbmm(self.bias, x.reshape(b, m, h * w).transpose(0, 1), self.weight)  # [m, b, hw]
        return y.transpose(0, 1).reshape(b, m, h, w)


def context_decoder(c, side, widths):
    """src/models/context-encoder.ts's decoder on a side x side x c pool5: channel-wise FC, 1x1 conv,
    4x4/2 up-convs (tfjs's 'same' pads 1 on each side: torch's padding=1), tanh on the last."""
    layers = [ChannelwiseDense(c, side * side), nn.Conv2d(c, c, 1), nn.ReLU(True)]
    for i, out in enumerate(widths):
        layers += [nn.ConvTranspose2d(c, out, 4, 2, 1), nn.Tanh() if i == len(widths) - 1 else nn.ReLU(True)]
        c = out
    return nn.Sequential(*layers)


class ContextEncoder(nn.Module):
    """encoder -> decoder -> bilinear resize to the input side (set self.size, self.encoder, self.decoder)."""

    def forward(self, x):
        y = self.decoder(self.encoder(x))
        return F.interpolate(y, size=(self.size, self.size), mode='bilinear', align_corners=True)


class AlexNetContextEncoder(ContextEncoder):
    """src/models/context-encoder.ts with full AlexNet widths: 227 -> pool5 6x6x256 -> 192 -> resize 227."""

    def __init__(self, size=227, widths=(96, 256, 384, 384, 256), decoder=(128, 64, 64, 32, 3)):
        super().__init__()
        w1, w2, w3, w4, w5 = widths
        self.size = size
        self.encoder = nn.Sequential(
            nn.Conv2d(3, w1, 11, 4), nn.ReLU(True), nn.MaxPool2d(3, 2),
            nn.Conv2d(w1, w2, 5, 1, 2), nn.ReLU(True), nn.MaxPool2d(3, 2),
            nn.Conv2d(w2, w3, 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(w3, w4, 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(w4, w5, 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(3, 2),
        )
        with torch.no_grad():
            pool5 = self.encoder(torch.zeros(1, 3, size, size)).shape[-1]
        self.decoder = context_decoder(w5, pool5, decoder)


def js_round(x):
    """JavaScript's Math.round (halves up; Python's round goes to even)."""
    return math.floor(x + 0.5)


def tf_same(size, kernel, stride):
    """TF 'same' padding of a side: output ceil(size / stride), padding
    (before, after) with the odd pixel after (bottom/right), as TF and tfjs do."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class Pad(nn.Module):
    """F.pad by (left, right, top, bottom) with a constant: 0 before a conv,
    -inf before a max-pool (a padded pixel never wins, as in TF)."""

    def __init__(self, pad, value=0.0):
        super().__init__()
        self.pad, self.value = pad, value

    def forward(self, x):
        return F.pad(x, self.pad, value=self.value)


def same_conv(cin, cout, kernel, stride, size):
    """Conv2d with TF 'same' padding on a size x size input: PyTorch's own
    (symmetric) padding where that is exact, else F.pad first. Returns
    (layers, output side)."""
    before, after, out = tf_same(size, kernel, stride)
    if before == after:
        return [nn.Conv2d(cin, cout, kernel, stride, before)], out
    return [Pad((before, after, before, after)), nn.Conv2d(cin, cout, kernel, stride)], out


def same_maxpool(size, kernel=3, stride=2):
    """MaxPool2d with TF 'same' padding (MaxPool2d's own padding, also
    -inf, is symmetric). Returns (layers, output side)."""
    before, after, out = tf_same(size, kernel, stride)
    if before == after:
        return [nn.MaxPool2d(kernel, stride, before)], out
    return [Pad((before, after, before, after), float('-inf')), nn.MaxPool2d(kernel, stride)], out


class SmallAlexNetContextEncoder(ContextEncoder):
    """experiments/cifar10.json's context encoder: src/models/encoders/alexnet-small.ts
    (conv1 (1 + 2s)x(1 + 2s)/s with s = round(size / 16), conv2 5x5, conv3-5 3x3,
    all TF 'same'; BatchNorm between each conv and its ReLU; 3x3/2 'same'
    max-pools after conv1, conv2, conv5) at width `width`, then
    src/models/context-encoder.ts's decoder with its default widths (scaled
    by pool5's channels / 256) and the resize to the input. 32 px: pool5
    2x2x64, up-convolutions to 64 px, resized to 32."""

    def __init__(self, size=32, width=0.25):
        super().__init__()
        self.size = size
        widths = [max(1, js_round(w * width)) for w in (96, 256, 384, 384, 256)]
        stride1 = max(1, js_round(size / 16))
        kernels = [1 + 2 * stride1, 5, 3, 3, 3]
        layers, c, s = [], 3, size
        for i, (w, k) in enumerate(zip(widths, kernels)):
            conv, s = same_conv(c, w, k, stride1 if i == 0 else 1, s)
            # tfjs's momentum 0.9 (moving = 0.9 * moving + 0.1 * batch) is torch's 0.1.
            layers += conv + [nn.BatchNorm2d(w, eps=1e-5, momentum=0.1), nn.ReLU(True)]
            if i in (0, 1, 4):  # pool1, pool2, pool5
                pool, s = same_maxpool(s)
                layers += pool
            c = w
        self.encoder = nn.Sequential(*layers)
        decoder = [max(1, js_round(w * c / 256)) for w in (128, 64, 64, 32)] + [3]
        self.decoder = context_decoder(c, s, decoder)


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--net', choices=['ce-dcgan', 'ce-alexnet', 'ce-alexnet-small'], default='ce-dcgan')
    p.add_argument('--size', type=int, default=0, help='default 64 for ce-dcgan, 227 for ce-alexnet, 32 for ce-alexnet-small')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--bottleneck', type=int, default=4000)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--threads', type=int, default=0, help='0: torch default')
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    size = a.size or {'ce-dcgan': 64, 'ce-alexnet': 227, 'ce-alexnet-small': 32}[a.net]
    if a.net == 'ce-alexnet-small' and not 32 <= size <= 96:
        p.error(f'--size {size}: ce-alexnet-small takes 32-96 px (the alexnet-small encoder\'s range; CIFAR-10: 32)')
    torch.manual_seed(0)
    x = torch.randn(a.batch, 3, size, size)
    q = size // 4
    extra = {}

    if a.net == 'ce-dcgan':
        G, D = generator(size, bottleneck=a.bottleneck), discriminator(size // 2)
        optG = torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999))
        optD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
        bce = nn.BCELoss()
        centre = x[:, :, q:3 * q, q:3 * q].clone()
        masked = x.clone()
        masked[:, :, q:3 * q, q:3 * q] = 0
        ones, zeros = torch.ones(a.batch), torch.zeros(a.batch)

        def step():
            fake = G(masked)
            optD.zero_grad()
            lossD = bce(D(centre).view(-1), ones) + bce(D(fake.detach()).view(-1), zeros)
            lossD.backward()
            optD.step()
            optG.zero_grad()
            lossG = 0.001 * bce(D(fake).view(-1), ones) + 0.999 * ((fake - centre) ** 2).mean()
            lossG.backward()
            optG.step()

        extra = {'bottleneck': a.bottleneck, 'params_D': sum(p.numel() for p in D.parameters())}
    else:
        G = AlexNetContextEncoder(size) if a.net == 'ce-alexnet' else SmallAlexNetContextEncoder(size)
        opt = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
        weight = torch.zeros(a.batch, 1, size, size)
        weight[:, :, q:size - q, q:size - q] = 1
        masked = x * (1 - weight)

        def step():
            opt.zero_grad()
            loss = (((G(masked) - x) ** 2) * weight).sum() / (3 * weight.sum())
            loss.backward()
            opt.step()

    G.train()
    step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    train = a.batch * a.steps / (time.perf_counter() - t)
    with torch.no_grad():
        G.eval()
        y = G(masked)
        t = time.perf_counter()
        for _ in range(a.steps):
            G(masked)
        fwd = a.batch * a.steps / (time.perf_counter() - t)
    out = {'framework': 'torch ' + torch.__version__, 'backend': 'torch-cpu', 'net': a.net, 'size': size,
           'batch': a.batch, 'threads': torch.get_num_threads(), 'steps': a.steps,
           'train_img_s': round(train, 2), 'fwd_img_s': round(fwd, 2), 'peak_rss_mb': peak_rss_mb(),
           'params_G': sum(p.numel() for p in G.parameters()),
           'out_shape': [y.shape[0], y.shape[2], y.shape[3], y.shape[1]]}  # NHWC, as ours prints it
    out.update(extra)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
