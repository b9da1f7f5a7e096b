"""Random but realistic content drawn from :mod:`.data`: people, catalogs, waybills, addresses."""

from __future__ import annotations

import random

from desk.simulator import catalog, data
from desk.simulator.ids import IdFactory
from desk.simulator.state import MerchantAddress, Person, PostalAddress, Product, Sku

__all__ = [
    "make_catalog",
    "make_person",
    "make_postal_address",
    "make_return_addresses",
    "make_waybill",
]

_THUMB = "https://mmecimage.cn/p/wx_sim/{product_id}_{n}.jpg"


def make_postal_address(rng: random.Random, name: str, phone: str) -> PostalAddress:
    province, city, counties, postal = rng.choice(data.REGIONS)
    detail = (
        f"{rng.choice(data.DETAIL_ROADS)}{rng.randint(1, 999)}号"
        f"{rng.choice(data.ESTATES)}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元"
        f"{rng.randint(1, 32)}0{rng.randint(1, 6)}"
    )
    return PostalAddress(
        user_name=name,
        tel_number=phone,
        province_name=province,
        city_name=city,
        county_name=rng.choice(counties),
        detail_info=detail,
        postal_code=f"{postal}{rng.randint(0, 999):03d}",
    )


def make_person(rng: random.Random, ids: IdFactory) -> Person:
    """A buyer: Chinese name, mobile number, home address; one in six hides behind a virtual number."""
    given = "".join(rng.choice(data.GIVEN_NAME_CHARS) for _ in range(rng.choice((1, 2, 2))))
    name = rng.choice(data.SURNAMES) + given
    phone = rng.choice(data.PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
    virtual = None
    if rng.random() < 1 / 6:
        virtual = f"132{rng.randint(0, 99_999_999):08d}-{rng.randint(1000, 9999)}"
    return Person(
        name=name,
        phone=phone,
        address=make_postal_address(rng, name, phone),
        unionid=ids.unionid(),
        nickname=rng.choice(data.NICKNAMES),
        gender=rng.choice((1, 2, 2)),
        virtual_number=virtual,
    )


def make_catalog(
    rng: random.Random, ids: IdFactory, store_index: int, category: str, size: int = 6
) -> list[Product]:
    """A store's products: ``size`` of the goods its ``category`` sells, each with SKUs and prices."""
    goods = catalog.products(category)
    items = rng.sample(goods, k=min(size, len(goods)))
    products = []
    for n, ((title, skus), label) in enumerate(items):
        product_id = ids.product_id(store_index, n)
        products.append(
            Product(
                product_id=product_id,
                title=title,
                thumb_img=_THUMB.format(product_id=product_id, n=0),
                skus=[
                    Sku(
                        sku_id=ids.sku_id(store_index, n, k),
                        attrs=attrs,
                        price=price,
                        sku_code=f"S{store_index:02d}{n:02d}{k:02d}",
                    )
                    for k, (attrs, price) in enumerate(skus)
                ],
                category=label,
            )
        )
    return products


def make_return_addresses(
    rng: random.Random, address_ids: list[str], store_name: str, now: int
) -> list[MerchantAddress]:
    """A store's warehouse addresses: the default return address first, then a second warehouse."""
    phone = "0571-8888" + f"{rng.randint(0, 9999):04d}"
    addresses = []
    for n, address_id in enumerate(address_ids):
        info = make_postal_address(rng, "售后仓" if n == 0 else "二号仓", phone)
        addresses.append(
            MerchantAddress(
                address_id=address_id,
                name=f"{store_name}{'退货仓' if n == 0 else '二号仓'}",
                address_info=info,
                landline=phone,
                send_addr=True,
                recv_addr=True,
                default_send=n == 0,
                default_recv=n == 0,
                create_time=now,
                update_time=now,
            )
        )
    return addresses


def make_waybill(rng: random.Random) -> tuple[str, str, str]:
    """(waybill_id, delivery_id, delivery_name) of a parcel with a common courier."""
    delivery_id, name, prefix = rng.choice(data.COURIERS)
    return f"{prefix}{rng.randint(10**11, 10**12 - 1)}", delivery_id, name
